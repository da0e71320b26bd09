package message

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// seqKey holds the last leased message id. Dapr prefixes it with the app-id.
const seqKey = "message-id-seq"

// maxLeaseAttempts bounds the optimistic retries of a lease under
// contention.
const maxLeaseAttempts = 64

// DaprIDs leases message ids from a sequence in a Dapr state store.
type DaprIDs struct {
	dapr dapr.Client
	name string
}

// NewDaprIDs returns DaprIDs on the state store component called name.
func NewDaprIDs(client dapr.Client, name string) *DaprIDs {
	return &DaprIDs{dapr: client, name: name}
}

// Lease reserves n consecutive ids and returns the first. The sequence
// advances with an ETag-guarded write, so instances never hand out the
// same id; ids of a lease its holder never uses are simply skipped.
func (s *DaprIDs) Lease(ctx context.Context, n int) (int64, error) {
	for range maxLeaseAttempts {
		item, err := s.dapr.GetState(ctx, s.name, seqKey, nil)
		if err != nil {
			return 0, fmt.Errorf("read message id sequence: %w", err)
		}
		var last int64
		if len(item.Value) > 0 {
			if err := json.Unmarshal(item.Value, &last); err != nil {
				return 0, fmt.Errorf("decode message id sequence: %w", err)
			}
		}
		if last+int64(n) > MaxID {
			return 0, errors.New("lease message ids: the id space is exhausted")
		}
		val := []byte(strconv.FormatInt(last+int64(n), 10))
		concurrency := dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite)
		if item.Etag != "" {
			err = s.dapr.SaveStateWithETag(ctx, s.name, seqKey, val, item.Etag, nil, concurrency)
		} else {
			err = s.dapr.SaveState(ctx, s.name, seqKey, val, nil, concurrency)
		}
		if sidecar.IsETagMismatch(err) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("advance message id sequence: %w", err)
		}
		return last + 1, nil
	}
	return 0, errors.New("lease message ids: too much contention")
}

// ActorChats reaches the chat actors through the sidecar, wherever the
// placement service has put them.
type ActorChats struct {
	dapr dapr.Client
}

// NewActorChats returns ActorChats on client.
func NewActorChats(client dapr.Client) *ActorChats { return &ActorChats{dapr: client} }

// Store stores m in owner's actor and returns owner's copy.
func (c *ActorChats) Store(ctx context.Context, owner int64, m Message) (Message, error) {
	var reply StoreReply
	if err := c.call(ctx, owner, "Store", StoreArgs{Message: m}, &reply); err != nil {
		return Message{}, err
	}
	if reply.Refused {
		return Message{}, fmt.Errorf("store message %d for user %d: %w", m.ID, owner, errNotAParty)
	}
	return reply.Message, nil
}

// History reads owner's messages with peer after a time.
func (c *ActorChats) History(ctx context.Context, owner, peer, after int64, limit int) ([]Message, error) {
	var reply HistoryReply
	err := c.call(ctx, owner, "History", HistoryArgs{Peer: peer, After: after, Limit: limit}, &reply)
	if err != nil {
		return nil, err
	}
	return reply.Messages, nil
}

// Latest reads owner's newest message with each of peers.
func (c *ActorChats) Latest(ctx context.Context, owner int64, peers []int64) ([]Latest, error) {
	var reply LatestReply
	if err := c.call(ctx, owner, "Latest", LatestArgs{Peers: peers}, &reply); err != nil {
		return nil, err
	}
	return reply.Latest, nil
}

// call invokes method on owner's actor with in as JSON and decodes the
// reply into out. Failures to reach or run the actor are ErrUnavailable.
func (c *ActorChats) call(ctx context.Context, owner int64, method string, in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode chat %s: %w", method, err)
	}
	resp, err := c.dapr.InvokeActor(ctx, &dapr.InvokeActorRequest{
		ActorType: ActorType, ActorID: strconv.FormatInt(owner, 10), Method: method, Data: data,
	})
	if err != nil {
		return fmt.Errorf("chat %s of user %d: %w: %w", method, owner, ErrUnavailable, err)
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		return fmt.Errorf("decode chat %s of user %d: %w", method, owner, err)
	}
	return nil
}
