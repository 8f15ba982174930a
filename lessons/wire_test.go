package lessons

import (
	"context"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Ends of the connections the recording tests make up.
const (
	testClient = "127.0.0.1:40001"
	testServer = "127.0.0.1:9000"
	testOther  = "127.0.0.1:40002"
)

// ap parses one of the test ends.
func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// patientWait bounds a wait that should end as soon as the recording is
// complete; reaching it means the wake-up was lost.
const patientWait = time.Minute

func TestWaitFinishedNamesWhatDidNotEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		fill func(r *recording)
		want []string
	}{
		{"nothing seen", func(*recording) {}, []string{"no connection was seen"}},
		{"server's FIN missing", func(r *recording) {
			r.Data(ap(testClient), ap(testServer), true, []byte("hi\n"))
			r.end(ap(testClient), ap(testServer), true)
		}, []string{testClient + " → " + testServer + ": no FIN from the server"}},
		{"client's FIN missing", func(r *recording) {
			r.end(ap(testClient), ap(testServer), false)
		}, []string{"no FIN from the client"}},
		{"no FIN at all, and a client never seen", func(r *recording) {
			r.expect(ap(testOther))
			r.Data(ap(testClient), ap(testServer), true, []byte("hi\n"))
		}, []string{"no FIN from either side", "the connection from " + testOther + " was never seen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recording{}
			tc.fill(r)
			// Nothing else will change the recording: however short the
			// wait, it must fail, and say why.
			err := r.waitFinished(context.Background(), time.Millisecond)
			if err == nil {
				t.Fatal("waitFinished succeeded on an unfinished recording")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestWaitFinishedWakesWhenTheLastFINComes(t *testing.T) {
	r := &recording{}
	r.expect(ap(testClient))
	r.Data(ap(testClient), ap(testServer), true, []byte("hi\n"))
	r.end(ap(testClient), ap(testServer), true)
	go func() {
		// Once the waiter is parked on changed, end the connection.
		for {
			r.mu.Lock()
			waiting := r.changed != nil
			r.mu.Unlock()
			if waiting {
				break
			}
			runtime.Gosched()
		}
		r.end(ap(testClient), ap(testServer), false)
	}()
	if err := r.waitFinished(context.Background(), patientWait); err != nil {
		t.Fatal(err)
	}
}

func TestWaitFinishedDoneAlready(t *testing.T) {
	r := &recording{}
	r.end(ap(testClient), ap(testServer), true)
	r.end(ap(testClient), ap(testServer), false)
	if err := r.waitFinished(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}
