package message

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// Client calls the message service through the caller's Dapr sidecar.
// Errors the service reports come back as the same apierr sentinels. A
// Client leases message ids in blocks and gives each message its id before
// the first attempt to send it, so that any retry of the send, by the
// sidecar's resiliency policy or by the caller, stores it once.
type Client struct {
	sc *sidecar.Sidecar

	mu   sync.Mutex
	next int64
	end  int64
}

// NewClient returns a Client that invokes the message service through sc.
func NewClient(sc *sidecar.Sidecar) *Client { return &Client{sc: sc} }

// NewID returns an id for a new message.
func (c *Client) NewID(ctx context.Context) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next >= c.end {
		var resp LeaseResponse
		if err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/message-ids", nil, &resp); err != nil {
			return 0, fmt.Errorf("lease message ids: %w", err)
		}
		c.next, c.end = resp.First, resp.First+int64(resp.Count)
	}
	id := c.next
	c.next++
	return id, nil
}

// Send sends a message, sent now, under a fresh id and returns the
// sender's copy.
func (c *Client) Send(ctx context.Context, from, to int64, content string) (Message, error) {
	id, err := c.NewID(ctx)
	if err != nil {
		return Message{}, fmt.Errorf("send message: %w", err)
	}
	return c.SendRequest(ctx, SendRequest{ID: id, From: from, To: to, Content: content,
		SentAt: time.Now().UnixMilli()})
}

// SendRequest sends the message req describes; its id must come from NewID.
// Sending the same request again stores the message once.
func (c *Client) SendRequest(ctx context.Context, req SendRequest) (Message, error) {
	var resp SendResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/messages", req, &resp); err != nil {
		return Message{}, fmt.Errorf("send message: %w", err)
	}
	return resp.Message, nil
}

// History returns viewer's messages with peer after a time (Unix ms),
// oldest first, at most HistoryLimit.
func (c *Client) History(ctx context.Context, viewer, peer, after int64) ([]Message, error) {
	path := "v1/users/" + strconv.FormatInt(viewer, 10) + "/chats/" + strconv.FormatInt(peer, 10) +
		"?after=" + strconv.FormatInt(after, 10)
	var resp HistoryResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodGet, path, nil, &resp); err != nil {
		return nil, fmt.Errorf("chat history: %w", err)
	}
	return resp.Messages, nil
}

// Latest returns viewer's newest message with each of peers that has one,
// in one call whatever the number of peers (at most MaxPeers).
func (c *Client) Latest(ctx context.Context, viewer int64, peers []int64) ([]Latest, error) {
	if len(peers) == 0 {
		return []Latest{}, nil
	}
	var resp LatestResponse
	path := "v1/users/" + strconv.FormatInt(viewer, 10) + "/latest"
	if err := c.sc.Invoke(ctx, AppID, http.MethodPost, path, LatestRequest{PeerIDs: peers}, &resp); err != nil {
		return nil, fmt.Errorf("latest messages: %w", err)
	}
	return resp.Latest, nil
}
