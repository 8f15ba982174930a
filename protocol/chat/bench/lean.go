package bench

import (
	"bufio"
	"context"
	"net"

	"chatlab/protocol"
)

// lineClient is the lean client for newline-separated lines: on the
// reference hub over TCP or TLS, and on chatlab in plain mode, whose
// lines are the same, so both plain servers are driven by the very same
// client code. It checks nothing but the newline: the run checks every
// message's stamp.
type lineClient struct {
	conn net.Conn
	br   *bufio.Reader
	wbuf []byte
}

func newLineClient(c net.Conn) *lineClient {
	// As much as chatlab's own client reads at a time once it has been
	// busy.
	return &lineClient{conn: c, br: bufio.NewReaderSize(c, protocol.BusyReadBufferSize)}
}

func (c *lineClient) SendBatch(lines ...string) error {
	c.wbuf = c.wbuf[:0]
	for _, l := range lines {
		c.wbuf = append(c.wbuf, l...)
		c.wbuf = append(c.wbuf, '\n')
	}
	_, err := c.conn.Write(c.wbuf)
	return err
}

func (c *lineClient) ReadRawBytes() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return line[:len(line)-1], nil
}

func (c *lineClient) NetConn() net.Conn { return c.conn }
func (c *lineClient) Close() error      { return c.conn.Close() }

// recordClient is the lean client for chatlab's secure records: its
// record layer, with nothing around it. A line it reads stays in the
// connection's buffer until the next read, so, like the line client, it
// allocates nothing per message.
type recordClient struct{ *protocol.Conn }

func (c recordClient) SendBatch(lines ...string) error { return c.WriteMessages(lines...) }
func (c recordClient) ReadRawBytes() ([]byte, error)   { return c.ReadMessageBytes() }

// dialLoopback connects a lean client to a server on this machine. It
// takes no dial timeout, which would cost each join a timer, about 8 µs
// of the 50 a connect takes here. None is needed: the clients dial one at
// a time, and each waits for its greeting before the next dials, so the
// listener's backlog never holds more than one connection, and a connect
// on loopback is accepted or refused at once. (Only a full backlog makes
// the kernel retry, for up to two minutes.) The run's context can still
// stop it.
func dialLoopback(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}
