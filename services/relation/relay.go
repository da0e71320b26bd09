package relation

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/douvo/douvo/internal/platform/events"
)

// Publisher publishes batches of events under deterministic ids and
// reports the ids it could not publish; events.Publisher implements it.
type Publisher interface {
	PublishBatch(ctx context.Context, topic string, entries []events.Entry) ([]string, error)
}

// Relay publishes the events that changes leave in the outbox, in batches,
// then removes them from it. Because an event is stored in the same transaction as the
// change it reports, a change is never committed without its event, and a
// crash between commit and publish only delays the event: the relay of any
// instance finds it at its next sweep. Publishing is at least once; the
// event ids are deterministic, so consumers dedupe.
//
// The instance that committed a change is notified and publishes at once.
// Every instance also sweeps all shards periodically, and on start, and
// publishes the events older than a grace period: those whose instance
// crashed or failed to publish. The grace period keeps instances from
// publishing each other's fresh events twice.
type Relay struct {
	outbox  Outbox
	pub     Publisher
	logger  *slog.Logger
	notices chan int
	// every is the sweep period; grace is how old an event must be before
	// a sweep publishes it.
	every, grace time.Duration
	now          func() time.Time
}

// Sweep timing of NewRelay.
const (
	sweepEvery = 5 * time.Second
	sweepGrace = 10 * time.Second
)

// NewRelay returns a Relay that drains outbox into pub.
func NewRelay(outbox Outbox, pub Publisher, logger *slog.Logger) *Relay {
	return &Relay{
		outbox: outbox, pub: pub, logger: logger,
		notices: make(chan int, 4*outboxShards),
		every:   sweepEvery, grace: sweepGrace, now: time.Now,
	}
}

// Notify implements Notifier. It never blocks: when notices pile up, the
// next sweep publishes what they announced.
func (r *Relay) Notify(shard int) {
	select {
	case r.notices <- shard:
	default:
	}
}

// Run publishes until ctx is done.
func (r *Relay) Run(ctx context.Context) {
	r.sweep(ctx)
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.sweep(ctx)
		case shard := <-r.notices:
			shards := map[int]bool{shard: true}
			for more := true; more; {
				select {
				case s := <-r.notices:
					shards[s] = true
				default:
					more = false
				}
			}
			for s := range shards {
				r.flush(ctx, s, 0)
			}
		}
	}
}

// sweep flushes every shard's events older than the grace period.
func (r *Relay) sweep(ctx context.Context) {
	for s := range r.outbox.Shards() {
		if ctx.Err() != nil {
			return
		}
		r.flush(ctx, s, r.grace)
	}
}

// publishBatch is the most events published in one call.
const publishBatch = 100

// flush publishes a shard's events at least minAge old, in batches, and
// removes those published. Events that fail stay for the next notice or
// sweep. Within a batch the order is not kept; consumers order an edge's
// events by version.
func (r *Relay) flush(ctx context.Context, shard int, minAge time.Duration) {
	pending, err := r.outbox.Pending(ctx, shard)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		r.logger.WarnContext(ctx, "read relation outbox failed",
			slog.Int("shard", shard), slog.String("error", err.Error()))
		return
	}
	cutoff := r.now().Add(-minAge).UnixMilli()
	entries := make([]events.Entry, 0, len(pending))
	for _, e := range pending {
		if e.At <= cutoff {
			entries = append(entries, events.Entry{ID: e.ID, Data: e})
		}
	}

	done := make([]string, 0, len(entries))
	for batch := range slices.Chunk(entries, publishBatch) {
		failed, err := r.pub.PublishBatch(ctx, Topic, batch)
		if err != nil {
			r.logger.WarnContext(ctx, "publish relation events failed",
				slog.Int("shard", shard), slog.Int("failed", len(failed)),
				slog.String("error", err.Error()))
		}
		for _, e := range batch {
			if !slices.Contains(failed, e.ID) {
				done = append(done, e.ID)
			}
		}
		if err != nil {
			break
		}
	}
	if err := r.outbox.Ack(ctx, shard, done); err != nil {
		r.logger.WarnContext(ctx, "clear relation outbox failed",
			slog.Int("shard", shard), slog.String("error", err.Error()))
	}
}
