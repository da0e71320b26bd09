package tally

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// batch is the state of one batch of changes to one counter document.
type batch struct {
	doc     string
	changes []Change
	results []outcome
	// active lists the changes still to decide, by index; of several
	// changes of one source, only the newest is active.
	active []int
}

// applyBatch counts changes, all to the counter document doc, and returns
// their outcomes in order.
func (t *Tally) applyBatch(ctx context.Context, doc string, changes []Change) []outcome {
	b := &batch{doc: doc, changes: changes, results: make([]outcome, len(changes))}
	newest := map[string]int{}
	for i, ch := range changes {
		if j, ok := newest[ch.Source]; !ok || ch.Version > changes[j].Version {
			newest[ch.Source] = i
		}
	}
	for i, ch := range changes {
		if newest[ch.Source] == i {
			b.active = append(b.active, i)
		}
	}

	faults := 0
	for range maxAttempts {
		err := t.attempt(ctx, b)
		if err == nil {
			return b.results
		}
		if errors.Is(err, sidecar.ErrConflict) {
			continue
		}
		if faults++; faults >= maxFaults {
			b.fail(err)
			return b.results
		}
	}
	b.fail(fmt.Errorf("tally %s: too much contention", doc))
	return b.results
}

// fail gives err to every change still undecided.
func (b *batch) fail(err error) {
	for _, i := range b.active {
		b.results[i].err = err
	}
	b.active = nil
}

// attempt makes one optimistic pass over the batch. It reads the counter
// document with the markers of the batch's sources, and of the other
// sources the document has in flight unless this instance knows their
// markers are written; completes what is in flight for the batch's
// sources; and counts every change newer than its marker, removing from
// the document, in the same compare-and-set, the in-flight records whose
// markers have caught up. It returns nil once every change is decided; an
// error wrapping sidecar.ErrConflict asks for another pass.
func (t *Tally) attempt(ctx context.Context, b *batch) error {
	keys := []string{b.doc}
	for _, i := range b.active {
		keys = append(keys, b.changes[i].Source)
		if r := b.changes[i].Requires; r != "" {
			keys = append(keys, r)
		}
	}
	docs, err := sidecar.ReadDocs(ctx, t.dapr, t.store, uniqueKeys(keys)...)
	if err != nil {
		return fmt.Errorf("tally %s: %w", b.doc, err)
	}
	var c counterDoc
	if err := docs[b.doc].Decode(&c); err != nil {
		return fmt.Errorf("tally %s: %w", b.doc, err)
	}

	// Changes about something that does not exist are decided at once.
	kept := b.active[:0]
	for _, i := range b.active {
		if r := b.changes[i].Requires; r != "" && !docs[r].Exists() {
			b.results[i].err = fmt.Errorf("tally %s: %s: %w", b.doc, r, ErrMissing)
			continue
		}
		kept = append(kept, i)
	}
	b.active = kept

	marks, err := t.markers(ctx, b, c, docs)
	if err != nil {
		return err
	}

	// A batch source still in flight from an earlier change, whose marker
	// was never written: write it now, so that the in-flight record can go.
	for _, i := range b.active {
		src := b.changes[i].Source
		f, ok := c.Flight[src]
		if !ok || marks[src].Version >= f.Version {
			continue
		}
		if err := sidecar.WriteDoc(ctx, t.dapr, t.store, src, f, docs[src].ETag); err != nil {
			return fmt.Errorf("tally %s: complete %s: %w", b.doc, src, err)
		}
		return fmt.Errorf("tally %s: completed %s: %w", b.doc, src, sidecar.ErrConflict)
	}

	// Drop the in-flight records whose markers have caught up, and count
	// the changes newer than their markers.
	changed := false
	for src, f := range c.Flight {
		if m, ok := marks[src]; ok && m.Version >= f.Version {
			delete(c.Flight, src)
			changed = true
		}
	}
	var counting []int
	for _, i := range b.active {
		ch := b.changes[i]
		if ch.Version > marks[ch.Source].Version {
			counting = append(counting, i)
		}
	}
	if c.Counts == nil {
		c.Counts = Counts{}
	}
	if c.Flight == nil {
		c.Flight = map[string]mark{}
	}
	for _, i := range counting {
		ch := b.changes[i]
		c.Counts[ch.Field] += ch.Value - marks[ch.Source].Value
		c.Flight[ch.Source] = mark{Version: ch.Version, Value: ch.Value}
		changed = true
	}
	if changed {
		if err := sidecar.WriteDoc(ctx, t.dapr, t.store, b.doc, c, docs[b.doc].ETag); err != nil {
			return fmt.Errorf("tally %s: %w", b.doc, err)
		}
	}
	b.active = nil
	t.writeMarkers(ctx, b, counting, docs)
	return nil
}

// markers returns the markers of the batch's sources and of the other
// sources in flight in c, by source. Markers this instance wrote itself are
// known without reading them; the others cost one more bulk read, when
// there are any.
func (t *Tally) markers(ctx context.Context, b *batch, c counterDoc, docs map[string]sidecar.Doc,
) (map[string]mark, error) {
	marks := make(map[string]mark, len(b.active)+len(c.Flight))
	for _, i := range b.active {
		src := b.changes[i].Source
		var m mark
		if err := docs[src].Decode(&m); err != nil {
			return nil, fmt.Errorf("tally %s: marker %s: %w", b.doc, src, err)
		}
		marks[src] = m
	}
	known := t.landed(b.doc)
	var unknown []string
	for src, f := range c.Flight {
		if _, ok := marks[src]; ok {
			continue
		}
		if v, ok := known[src]; ok && v >= f.Version {
			marks[src] = mark{Version: v}
			continue
		}
		unknown = append(unknown, src)
	}
	if len(unknown) == 0 {
		return marks, nil
	}
	more, err := sidecar.ReadDocs(ctx, t.dapr, t.store, unknown...)
	if err != nil {
		return nil, fmt.Errorf("tally %s: %w", b.doc, err)
	}
	for _, src := range unknown {
		var m mark
		if err := more[src].Decode(&m); err != nil {
			return nil, fmt.Errorf("tally %s: marker %s: %w", b.doc, src, err)
		}
		marks[src] = m
	}
	return marks, nil
}

// writeMarkers writes, concurrently, the markers of the changes the batch
// has just counted, and records their outcomes. A marker that fails to be
// written leaves its change in flight, for the next change of its source,
// or the same one delivered again, to complete; the change reports the
// error so that it is delivered again.
func (t *Tally) writeMarkers(ctx context.Context, b *batch, counting []int, docs map[string]sidecar.Doc) {
	errs := make([]error, len(counting))
	var wg sync.WaitGroup
	for n, i := range counting {
		ch := b.changes[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[n] = sidecar.WriteDoc(ctx, t.dapr, t.store, ch.Source,
				mark{Version: ch.Version, Value: ch.Value}, docs[ch.Source].ETag)
		}()
	}
	wg.Wait()
	landed := make(map[string]int64, len(counting))
	for n, i := range counting {
		if errs[n] != nil {
			b.results[i].err = fmt.Errorf("tally %s: marker: %w", b.doc, errs[n])
			continue
		}
		b.results[i].applied = true
		landed[b.changes[i].Source] = b.changes[i].Version
	}
	t.remember(b.doc, landed)
}

// landed returns the markers this instance last wrote for the in-flight
// records of doc, by source.
func (t *Tally) landed(doc string) map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.written[doc]
}

// remember records the markers a batch of doc wrote, replacing those of the
// batch before, whose in-flight records that batch removed. It remembers a
// bounded number of documents; a document forgotten costs one more read at
// its next batch.
func (t *Tally) remember(doc string, landed map[string]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.written[doc]; !ok && len(t.written) >= maxRemembered {
		for k := range t.written {
			delete(t.written, k)
			if len(t.written) < maxRemembered/2 {
				break
			}
		}
	}
	t.written[doc] = landed
}

// uniqueKeys drops repeated keys, keeping the first.
func uniqueKeys(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := keys[:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
