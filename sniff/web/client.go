package web

import (
	"strconv"
	"sync"
)

// Limits on one page's queue: a page that reads slower than the sniffer
// emits loses messages, never the sniffer's time.
const (
	// maxQueue is how many messages wait for one page: a burst of a
	// few hundred records (a lesson's whole chat) fits.
	maxQueue = 1024
	// maxQueueBytes bounds the same by size, so that 64 slow pages
	// hold at most 256 MiB between them.
	maxQueueBytes = 4 << 20
	// maxClients is how many pages may watch at once: a class.
	maxClients = 64
)

// client is one open page: a queue Emit fills without waiting, and a
// writer (the page's request) that drains it.
type client struct {
	wake chan struct{} // has a value when there is something to write

	mu      sync.Mutex
	queue   [][]byte
	size    int
	dropped int
	stats   map[int]bool // connections whose stats changed
}

func newClient() *client {
	return &client{wake: make(chan struct{}, 1), stats: map[int]bool{}}
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// push queues msg, or counts it dropped when the queue is full.
func (c *client) push(msg []byte) {
	c.mu.Lock()
	if len(c.queue) >= maxQueue || c.size+len(msg) > maxQueueBytes {
		c.dropped++
	} else {
		c.queue = append(c.queue, msg)
		c.size += len(msg)
	}
	c.mu.Unlock()
	c.signal()
}

// markStats coalesces: however often a connection's counts change, the
// page gets its latest stats once per write.
func (c *client) markStats(id int) {
	c.mu.Lock()
	c.stats[id] = true
	c.mu.Unlock()
	c.signal()
}

// take empties the queue. It returns the messages, a note if some were
// dropped, and the connections whose stats to send.
func (c *client) take() (msgs [][]byte, ids []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msgs, c.queue, c.size = c.queue, nil, 0
	if c.dropped > 0 {
		msgs = append(msgs, encode(Note{Type: "note", Text: "this page fell behind: " + strconv.Itoa(c.dropped) +
			" messages were dropped (reload it for the recent history)"}))
		c.dropped = 0
	}
	for id := range c.stats {
		ids = append(ids, id)
	}
	clear(c.stats)
	return msgs, ids
}
