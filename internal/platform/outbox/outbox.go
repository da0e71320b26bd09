// Package outbox makes the change of a state document and the event that
// reports it atomic, with no multi-key transaction: no change without its
// event, no event without its change.
//
// The record that changes carries its own outbox: a version that grows with
// every change and a pending mark, set by the same compare-and-set that
// commits the change and cleared once the change's event is published. A
// change runs in four steps:
//
//  1. Begin publishes an intent on the service's intent topic: the record
//     under this key is about to reach this version, by this deadline.
//  2. The caller commits the change with one guarded write of the record
//     (version and pending mark included), bounded by that deadline.
//  3. Finish publishes the change's event under an id derived from the
//     record and its version,
//  4. and clears the pending mark if the record is still at that version.
//
// The broker keeps the intent; the relay (Subscription) consumes it. When a
// process dies between steps 2 and 4, the relay finds the record still
// pending and publishes its event; when the change never committed (a lost
// race, a crash before step 2), the relay finds the record below the
// intent's version after the deadline and lets the intent go. An event is
// published only for a committed version, since the relay publishes what the
// record says, not what the intent says.
//
// Events are published at least once and carry the record's whole state at
// its version, so consumers must be idempotent and order changes by
// version; a consumer that counts states needs only the newest version, and
// a record's pending event may therefore be replaced by the next change's.
//
// This is the design of Dapr's own transactional outbox, built from
// single-document writes because the state stores it runs on do not all
// roll a failed transaction back, and without its fixed one-second wait per
// event on the relay.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/douvo/douvo/internal/platform/events"
)

// Publisher publishes events under deterministic ids; events.Publisher is
// one.
type Publisher interface {
	Publish(ctx context.Context, topic, id string, data any) error
}

// Event is an event a record waits to have published.
type Event struct {
	Topic string
	// ID is the CloudEvent id: derived from the record and its version, so
	// that every publication of one change carries the same id.
	ID   string
	Data any
}

// Records is what the outbox needs from the owner of the records.
type Records interface {
	// Pending reads the record under key and returns its version and,
	// when it carries the pending mark, the event of that version; a
	// missing record has version 0.
	Pending(ctx context.Context, key string) (int64, *Event, error)
	// Published clears the pending mark of the record under key if the
	// record is still at version.
	Published(ctx context.Context, key string, version int64) error
}

// Intent is what Begin publishes on the intent topic.
type Intent struct {
	// Key is the record's key.
	Key string `json:"key"`
	// Version is the version the change gives the record.
	Version int64 `json:"version"`
	// At is when the change began, and Deadline when it can no longer be
	// committed, in Unix milliseconds.
	At       int64 `json:"at"`
	Deadline int64 `json:"deadline"`
}

// Timing of the outbox. Clocks of the instances are assumed to agree to
// well within these margins.
const (
	// commitWindow bounds step 2: Begin's context expires this long after
	// the intent, or at the caller's own deadline if that comes first.
	commitWindow = 5 * time.Second
	// grace is how long after an intent's deadline a write of the record
	// may still land (a state store that finishes a write its caller gave
	// up on): only then does the relay let an uncommitted intent go.
	grace = 30 * time.Second
	// takeover is how long the relay leaves a pending record to the
	// process that committed it before publishing the event itself.
	takeover = 3 * time.Second
	// maxPoll is how long the relay waits within one delivery before
	// asking for the intent to be delivered again later.
	maxPoll = 2 * time.Second
)

// Outbox runs the steps of a change and relays the changes whose process
// did not finish them.
type Outbox struct {
	pub     Publisher
	topic   string
	records Records
	logger  *slog.Logger
	now     func() time.Time
}

// New returns an Outbox that publishes intents on topic (which the owner
// must consume with Subscription) and events through pub.
func New(pub Publisher, topic string, records Records, logger *slog.Logger) *Outbox {
	return &Outbox{pub: pub, topic: topic, records: records, logger: logger, now: time.Now}
}

// Begin announces that the record under key is about to reach version. It
// returns the context the write that commits the change must use: the
// write has to land before its deadline. Call the cancel function once the
// write returns. When Begin fails, nothing has changed and the change must
// not be committed.
func (o *Outbox) Begin(ctx context.Context, key string, version int64) (context.Context,
	context.CancelFunc, error,
) {
	now := o.now()
	deadline := now.Add(commitWindow)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	in := Intent{Key: key, Version: version, At: now.UnixMilli(), Deadline: deadline.UnixMilli()}
	id := fmt.Sprintf("%s-%d-%d", key, version, now.UnixNano())
	if err := o.pub.Publish(ctx, o.topic, id, in); err != nil {
		return nil, nil, fmt.Errorf("begin change of %s: %w", key, err)
	}
	commit, cancel := context.WithDeadline(ctx, deadline)
	return commit, cancel, nil
}

// Finish publishes ev, the event of the committed version of the record
// under key, and clears the record's pending mark. The change is committed
// whatever happens here: a failure is logged and left to the relay, which
// publishes the event once the intent is old enough.
func (o *Outbox) Finish(ctx context.Context, key string, version int64, ev Event) {
	if err := o.pub.Publish(ctx, ev.Topic, ev.ID, ev.Data); err != nil {
		o.logger.WarnContext(ctx, "event left to the relay",
			slog.String("key", key), slog.Int64("version", version), slog.String("error", err.Error()))
		return
	}
	if err := o.records.Published(ctx, key, version); err != nil {
		o.logger.WarnContext(ctx, "pending mark left to the relay",
			slog.String("key", key), slog.Int64("version", version), slog.String("error", err.Error()))
	}
}

// errWait asks for an intent to be delivered again later.
var errWait = errors.New("change still under way")

// Subscription is the relay: it consumes the intent topic and completes
// every change its process left unfinished. An intent whose change is
// still under way is retried (the sidecar delivers it again later); one
// that cannot be read is dropped to the dead-letter topic.
func (o *Outbox) Subscription() events.Subscription {
	return events.Subscription{Topic: o.topic, Handler: o.relay}
}

func (o *Outbox) relay(ctx context.Context, m events.Message) error {
	var in Intent
	if err := m.Decode(&in); err != nil {
		return err
	}
	if in.Key == "" || in.Version <= 0 {
		return fmt.Errorf("intent %s: no key or version: %w", m.ID, events.ErrDrop)
	}
	began, deadline := time.UnixMilli(in.At), time.UnixMilli(in.Deadline)
	start, wait := o.now(), 10*time.Millisecond
	for {
		version, ev, err := o.records.Pending(ctx, in.Key)
		if err != nil {
			return fmt.Errorf("intent %s: %w", m.ID, err)
		}
		now := o.now()
		switch {
		case version < in.Version && now.After(deadline.Add(grace)):
			// The change never committed, and no longer can.
			return nil
		case version < in.Version:
			// Not committed yet.
		case ev == nil:
			return nil
		case now.Sub(began) >= takeover:
			return o.publish(ctx, in.Key, version, ev)
		}
		if now.Sub(start) >= maxPoll {
			return fmt.Errorf("intent %s: %w", m.ID, errWait)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("intent %s: %w", m.ID, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// publish publishes ev, the pending event of the record under key at
// version, which its process did not, and clears the mark.
func (o *Outbox) publish(ctx context.Context, key string, version int64, ev *Event) error {
	if err := o.pub.Publish(ctx, ev.Topic, ev.ID, ev.Data); err != nil {
		return fmt.Errorf("relay %s: %w", key, err)
	}
	if err := o.records.Published(ctx, key, version); err != nil {
		return fmt.Errorf("relay %s: %w", key, err)
	}
	o.logger.InfoContext(ctx, "event relayed", slog.String("key", key), slog.Int64("version", version),
		slog.String("event_id", ev.ID))
	return nil
}
