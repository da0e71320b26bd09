package relation

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// lockTable serialises, within one process, the changes that touch the same
// documents, so that they queue instead of failing each other's ETag checks.
// Keys are user ids and, as negative numbers, outbox shards. Locks are taken
// in ascending key order, so two holders of overlapping sets cannot
// deadlock. Entries live only while held or awaited.
//
// The table is an optimisation, never the guarantee: several instances of
// the service share one store, and the ETags of each transaction are what
// keep them exact. That holds on stores that roll a transaction back when
// one of its ETag checks fails; Redis applies the transaction's other
// writes, so on Redis only one instance, whose changes queue here, may run.
type lockTable struct {
	mu      sync.Mutex
	entries map[int64]*lockEntry
}

type lockEntry struct {
	// token holds one value while the lock is free.
	token chan struct{}
	// refs counts holders and waiters; the entry is dropped at zero.
	refs int
}

func newLockTable() *lockTable {
	return &lockTable{entries: make(map[int64]*lockEntry)}
}

// lock takes the locks of keys (any order, duplicates allowed) and returns
// the function that releases them all.
func (t *lockTable) lock(ctx context.Context, keys []int64) (func(), error) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)

	held := make([]int64, 0, len(keys))
	release := func() {
		for _, k := range held {
			t.release(k)
		}
	}
	for _, k := range keys {
		e := t.acquireEntry(k)
		select {
		case <-e.token:
			held = append(held, k)
		case <-ctx.Done():
			t.dropEntry(k, e)
			release()
			return nil, fmt.Errorf("lock users: %w: %w", ErrContention, ctx.Err())
		}
	}
	return release, nil
}

// acquireEntry returns k's entry, created free if absent, counting the
// caller in.
func (t *lockTable) acquireEntry(k int64) *lockEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[k]
	if !ok {
		e = &lockEntry{token: make(chan struct{}, 1)}
		e.token <- struct{}{}
		t.entries[k] = e
	}
	e.refs++
	return e
}

// dropEntry counts a caller out of e without releasing the lock.
func (t *lockTable) dropEntry(k int64, e *lockEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(t.entries, k)
	}
}

// release frees k's lock held by the caller.
func (t *lockTable) release(k int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[k]
	e.token <- struct{}{}
	e.refs--
	if e.refs == 0 {
		delete(t.entries, k)
	}
}
