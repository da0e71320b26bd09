// Package tally keeps exact counters in a Dapr state store, fed by events
// that arrive at least once and in any order.
//
// A counter sums the contributions of many sources: a user's like of a video
// contributes 1 while it stands and 0 once withdrawn; a comment contributes
// 1 until it is deleted. A source's state only moves forward, through
// increasing versions, and each event reports one version of it. The tally
// remembers, per source and counter, the version it last counted (the
// source's marker), so an event it has seen, or one overtaken by a later
// version, changes nothing, and the counter converges to the sum of every
// source's latest contribution whatever the order of delivery. Counting
// states instead of deltas is what makes reordering harmless: a counter
// never needs the versions between the one it knows and the newest.
//
// The marker and the counter are two documents, yet a change needs no
// multi-key transaction (which not every store rolls back when one of its
// writes is refused): the counter document records, beside its counts, the
// contributions it has taken in whose marker may not be written yet, "in
// flight". A change moves the count and records itself in flight (one
// compare-and-set on the counter document), then writes the marker (one
// compare-and-set on the marker). The next change of the document removes
// the in-flight records whose markers have caught up, in its own
// compare-and-set; one whose marker is behind (its writer died) is completed
// by whoever next handles that source: the same event delivered again, or a
// later one. So the count always equals the sum of the contributions
// recorded in flight or in markers, a crash at any step neither loses nor
// repeats a contribution, and instances racing on one counter only retry.
//
// A change costs one bulk read (the counter document and the marker), one
// compare-and-set of the counter document and one marker write. Changes to
// one counter document that arrive together are applied together (group
// commit): while one caller writes a batch, the changes arriving meanwhile
// queue, and the next batch takes them all with one read, one
// compare-and-set of the counter document and their marker writes, made
// concurrently. Within an instance, changes to one document never conflict.
package tally

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// ErrMissing reports that the document a change requires does not exist:
// the event refers to something unknown and can never be counted.
var ErrMissing = errors.New("required document does not exist")

// Change is one version of one source's contribution to one counter.
type Change struct {
	// Doc is the key of the counter document.
	Doc string
	// Field names the counter within the document.
	Field string
	// Source is the key of the source's marker for this counter: unique per
	// source and counter, such as "mark-like-<video>-<user>".
	Source string
	// Version is the source's version this change reports; it must be
	// positive, and later states have higher versions.
	Version int64
	// Value is the source's contribution at that version.
	Value int64
	// Requires, when set, is the key of a document that must exist for the
	// change to count (the video a like is about); otherwise Apply returns
	// ErrMissing.
	Requires string
}

// Counts are the counters of one document, by field. Absent fields are
// zero.
type Counts map[string]int64

// counterDoc is a counter document.
type counterDoc struct {
	Counts Counts `json:"counts"`
	// Flight holds, by marker key, the contributions counted whose marker
	// may not be written yet.
	Flight map[string]mark `json:"flight,omitempty"`
}

// mark is a source's counted version and contribution.
type mark struct {
	Version int64 `json:"version"`
	Value   int64 `json:"value"`
}

// Limits of one batch.
const (
	// maxAttempts bounds the optimistic retries of one batch.
	maxAttempts = 100
	// maxFaults bounds the failed reads and writes, other than conflicts,
	// one batch tolerates before it gives up.
	maxFaults = 3
	// maxBatch is the most changes one batch takes.
	maxBatch = 128
	// maxRemembered bounds the counter documents whose last written
	// markers an instance remembers.
	maxRemembered = 4096
	// batchTimeout bounds the writing of one batch, whoever asked for it.
	batchTimeout = 10 * time.Second
)

// Tally applies changes to counter documents in a Dapr state store.
type Tally struct {
	dapr  dapr.Client
	store string

	// mu guards queues: the changes waiting, by counter document. A
	// document is in the map while one caller, its leader, writes batches
	// of it; the others queue for the next batch. Instances still race on
	// a document, and retry.
	mu     sync.Mutex
	queues map[string]*queue
	// written holds, by counter document, the markers the last batch of
	// this instance wrote: their in-flight records can go at the next
	// batch without reading the markers again.
	written map[string]map[string]int64
	// apply writes one batch of changes of a document: applyBatch.
	apply func(ctx context.Context, doc string, changes []Change) []outcome
}

// queue holds the changes waiting for the next batch of one document.
type queue struct {
	waiting []*waiter
}

// waiter is a change waiting for its outcome.
type waiter struct {
	ch Change
	// done receives the outcome, or the order to lead the next batches.
	done chan outcome
	// leads is set, under Tally.mu, when the waiter is told to lead.
	leads bool
}

type outcome struct {
	applied bool
	err     error
	lead    bool
}

// New returns a Tally on the Dapr state store component called store.
func New(client dapr.Client, store string) *Tally {
	t := &Tally{dapr: client, store: store, queues: map[string]*queue{},
		written: map[string]map[string]int64{}}
	t.apply = t.applyBatch
	return t
}

// Apply counts ch once. It reports whether the change moved the source to a
// new version; a repeated or overtaken change reports false and changes
// nothing. An error other than ErrMissing means the change may not be
// counted yet and must be applied again later.
func (t *Tally) Apply(ctx context.Context, ch Change) (bool, error) {
	if ch.Version <= 0 || ch.Doc == "" || ch.Field == "" || ch.Source == "" {
		return false, fmt.Errorf("tally %s: incomplete change", ch.Doc)
	}
	w := &waiter{ch: ch, done: make(chan outcome, 1)}
	t.mu.Lock()
	q, busy := t.queues[ch.Doc]
	if !busy {
		q = &queue{}
		t.queues[ch.Doc] = q
		w.leads = true
	}
	q.waiting = append(q.waiting, w)
	t.mu.Unlock()

	if !busy {
		t.lead(ctx, ch.Doc, q)
	}
	select {
	case o := <-w.done:
		return t.follow(ctx, ch.Doc, q, w, o)
	case <-ctx.Done():
	}
	t.mu.Lock()
	if i := slices.Index(q.waiting, w); i >= 0 && !w.leads {
		q.waiting = slices.Delete(q.waiting, i, i+1)
		t.mu.Unlock()
		return false, fmt.Errorf("tally %s: %w", ch.Doc, ctx.Err())
	}
	t.mu.Unlock()
	// Told to lead, or already in a batch: see it through.
	return t.follow(ctx, ch.Doc, q, w, <-w.done)
}

// follow acts on an outcome: an order to lead runs the next batches, and
// the waiter's own outcome follows.
func (t *Tally) follow(ctx context.Context, doc string, q *queue, w *waiter, o outcome) (bool, error) {
	if o.lead {
		t.lead(ctx, doc, q)
		o = <-w.done
	}
	return o.applied, o.err
}

// lead writes the next batch of a document, which holds the leader's own
// change, then hands the lead to the first change still waiting, or
// removes the queue when none is.
func (t *Tally) lead(ctx context.Context, doc string, q *queue) {
	t.mu.Lock()
	n := min(len(q.waiting), maxBatch)
	batch := slices.Clone(q.waiting[:n])
	q.waiting = slices.Delete(q.waiting, 0, n)
	t.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
	defer cancel()
	changes := make([]Change, 0, len(batch))
	for _, w := range batch {
		changes = append(changes, w.ch)
	}
	results := t.apply(ctx, doc, changes)
	for i, w := range batch {
		w.done <- results[i]
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if len(q.waiting) == 0 {
		delete(t.queues, doc)
		return
	}
	next := q.waiting[0]
	next.leads = true
	next.done <- outcome{lead: true}
}

// Read returns the counts of the documents under keys, in one round trip;
// absent documents have no counts.
func (t *Tally) Read(ctx context.Context, keys ...string) (map[string]Counts, error) {
	docs, err := sidecar.ReadDocs(ctx, t.dapr, t.store, keys...)
	if err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	out := make(map[string]Counts, len(keys))
	for _, k := range keys {
		counts, err := Decode(docs[k].Value)
		if err != nil {
			return nil, fmt.Errorf("read counters: %s: %w", k, err)
		}
		out[k] = counts
	}
	return out, nil
}

// Decode returns the counts of a counter document as stored, for a caller
// that read it together with other documents; nil or empty raw has no
// counts.
func Decode(raw []byte) (Counts, error) {
	var c counterDoc
	if err := (sidecar.Doc{Value: raw}).Decode(&c); err != nil {
		return nil, err
	}
	if c.Counts == nil {
		c.Counts = Counts{}
	}
	return c.Counts, nil
}
