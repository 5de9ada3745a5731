package dashboard

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// streamWriteTimeout bounds one write to a page's stream: a page that
// stops reading is dropped instead of holding a goroutine forever.
const streamWriteTimeout = 10 * time.Second

// hub fans the updates out to the open streams. Each stream has a
// one-slot mailbox: a slow page skips to the newest update instead of
// queueing them.
type hub struct {
	max int

	mu     sync.Mutex
	subs   map[chan []byte]struct{}
	closed bool
	done   chan struct{} // closed by close
}

func newHub(max int) *hub {
	return &hub{max: max, subs: make(map[chan []byte]struct{}), done: make(chan struct{})}
}

// subscribe adds a stream; ok is false at the bound or after close.
func (h *hub) subscribe() (c chan []byte, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.subs) >= h.max {
		return nil, false
	}
	c = make(chan []byte, 1)
	h.subs[c] = struct{}{}
	return c, true
}

func (h *hub) unsubscribe(c chan []byte) {
	h.mu.Lock()
	delete(h.subs, c)
	h.mu.Unlock()
}

// count returns the open streams.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// broadcast hands msg to every stream, replacing an update not yet sent.
func (h *hub) broadcast(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.subs {
		select {
		case c <- msg:
		default:
			select {
			case <-c:
			default:
			}
			c <- msg // the only sender holds h.mu
		}
	}
}

// close ends every stream and refuses new ones.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// events serves one page's update stream (text/event-stream): the
// latest overview at once, then each update, and a comment line every
// Config.HeartbeatInterval.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	c, ok := s.hub.subscribe()
	if !ok {
		w.Header().Set("Retry-After", "30")
		http.Error(w, fmt.Sprintf("dashboard: too many open update streams (limit %d)", s.cfg.MaxStreams), http.StatusServiceUnavailable)
		return
	}
	defer s.hub.unsubscribe(c)
	rc := http.NewResponseController(w)
	// The server's read and write timeouts are for requests, not for a
	// stream: each write gets its own deadline instead.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(s.latest().event) {
		return
	}
	beat := time.NewTicker(s.cfg.HeartbeatInterval)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.hub.done:
			return
		case msg := <-c:
			if !write(msg) {
				return
			}
		case <-beat.C:
			if !write([]byte(": heartbeat\n\n")) {
				return
			}
		}
	}
}
