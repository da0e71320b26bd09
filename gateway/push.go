package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/events"
	"github.com/douvo/douvo/services/message"
)

// Push stream settings.
const (
	// streamBuffer is how many messages may wait for one slow stream before
	// the gateway ends it; its client reconnects and catches up by polling.
	streamBuffer = 64
	// heartbeatEvery keeps idle streams open through proxies and finds
	// clients that went away.
	heartbeatEvery = 15 * time.Second
	// writeWait bounds one write to a stream's client.
	writeWait = 10 * time.Second
	// retryMillis is the reconnection delay the stream suggests to clients.
	retryMillis = 2000
)

var errShuttingDown = apierr.New(apierr.Unavailable, "server is shutting down: reconnect")

// hub hands new messages to the push streams open on this gateway instance.
// Every instance receives every message event through the fanout component,
// so a client may connect to any instance.
type hub struct {
	mu      sync.Mutex
	streams map[int64]map[*stream]struct{}
	closed  bool
	done    chan struct{}
}

// stream is one open push connection of a user.
type stream struct {
	msgs chan message.Message
}

func newHub() *hub {
	return &hub{streams: map[int64]map[*stream]struct{}{}, done: make(chan struct{})}
}

// subscribe opens a stream for user; false once the hub is closed.
func (h *hub) subscribe(user int64) (*stream, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	s := &stream{msgs: make(chan message.Message, streamBuffer)}
	if h.streams[user] == nil {
		h.streams[user] = map[*stream]struct{}{}
	}
	h.streams[user][s] = struct{}{}
	return s, true
}

// unsubscribe forgets a stream; it may already be gone.
func (h *hub) unsubscribe(user int64, s *stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.drop(user, s)
}

func (h *hub) drop(user int64, s *stream) {
	set, ok := h.streams[user]
	if !ok {
		return
	}
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	close(s.msgs)
	if len(set) == 0 {
		delete(h.streams, user)
	}
}

// publish hands m to every stream of its sender and its recipient. A
// stream too slow to take it is ended rather than made to skip a message.
func (h *hub) publish(m message.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, user := range []int64{m.ToUserID, m.FromUserID} {
		for s := range h.streams[user] {
			select {
			case s.msgs <- m:
			default:
				h.drop(user, s)
			}
		}
	}
}

// close ends every stream and refuses new ones.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.done)
}

// deliver is the fanout subscription's handler.
func (h *hub) deliver(_ context.Context, ev events.Message) error {
	var m message.Message
	if err := ev.Decode(&m); err != nil {
		return err
	}
	h.publish(m)
	return nil
}

// messageStream serves the caller's push stream as Server-Sent Events: a
// "ready" event once the stream is registered, then a "message" event
// (id: the message id, data: the Message object) for every message the
// caller sends or receives while connected, and a comment line every 15 s.
// A message may arrive twice, for example after an event was redelivered:
// clients key messages by id. Messages sent while a client is not
// connected are not replayed; it catches up with /douyin/message/chat/.
func (g *Gateway) messageStream(c *fiber.Ctx) error {
	user := viewer(c)
	s, ok := g.hub.subscribe(user)
	if !ok {
		return errShuttingDown
	}
	conn := c.Context().Conn()
	done := g.hub.done

	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer g.hub.unsubscribe(user, s)
		_ = serveStream(w, conn, s, done)
	})
	return nil
}

// serveStream writes a stream's events until its client goes away, the
// stream is dropped or the gateway shuts down.
func serveStream(w *bufio.Writer, conn net.Conn, s *stream, done <-chan struct{}) error {
	flush := func() error {
		if err := conn.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
			return fmt.Errorf("push stream deadline: %w", err)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("push stream write: %w", err)
		}
		return nil
	}

	fmt.Fprintf(w, "retry: %d\nevent: ready\ndata: {}\n\n", retryMillis)
	if err := flush(); err != nil {
		return err
	}
	beat := time.NewTicker(heartbeatEvery)
	defer beat.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-beat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case m, ok := <-s.msgs:
			if !ok {
				return nil
			}
			data, err := json.Marshal(clientMessage(m))
			if err != nil {
				return fmt.Errorf("encode pushed message: %w", err)
			}
			fmt.Fprintf(w, "id: %s\nevent: message\ndata: %s\n\n", strconv.FormatInt(m.ID, 10), data)
		}
		if err := flush(); err != nil {
			return err
		}
	}
}

// Subscriptions are the events the gateway consumes: every sent message,
// from the fanout component, for the push streams of this instance.
func (g *Gateway) Subscriptions() []events.Subscription {
	return []events.Subscription{{PubSub: events.Fanout, Topic: message.Topic, Handler: g.hub.deliver}}
}

// Close ends every push stream, so that the server can shut down.
func (g *Gateway) Close() { g.hub.close() }
