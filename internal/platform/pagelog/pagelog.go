// Package pagelog keeps append-only lists of small entries in a Dapr state
// store, read newest first, in pages so that no document grows without
// bound: a user's likes, a video's comments.
//
// Every entry gets an ordinal, its position in the list counted from 0. A
// list called name is stored as
//
//	<name>        the head: the newest entries, and how many pages are sealed
//	<name>-<k>    sealed page k: the entries with ordinals k*size to k*size+size-1
//
// Appending is one compare-and-set on the head. When the head has taken in
// size ordinals, the next append first copies them to the next sealed page,
// then empties the head in its own compare-and-set; a crash between the two
// leaves a page that the next append writes again, identically. Removing an
// entry is one compare-and-set on the document that holds its ordinal.
//
// A list is an index, not the truth: callers append an entry before the
// change it points to is committed and check every entry they read against
// the record it names, skipping entries whose change never committed or was
// undone. So no step of a list needs to be atomic with anything else.
package pagelog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// Entry is one entry of a list and its ordinal.
type Entry[T any] struct {
	N int64 `json:"n"`
	V T     `json:"v"`
}

type head[T any] struct {
	// Sealed is how many pages are sealed; the head holds the ordinals from
	// Sealed*size up to Next.
	Sealed  int64      `json:"sealed"`
	Next    int64      `json:"next"`
	Entries []Entry[T] `json:"entries"`
}

type page[T any] struct {
	Entries []Entry[T] `json:"entries"`
}

// maxAttempts bounds the optimistic retries of one append or removal.
const maxAttempts = 64

// readAhead is how many sealed pages Walk reads in one round trip.
const readAhead = 4

// Log is a family of lists in one Dapr state store, with entries of type T
// and pages of a fixed size.
type Log[T any] struct {
	dapr  dapr.Client
	store string
	size  int64
}

// New returns a Log on the Dapr state store component called store whose
// pages hold size entries.
func New[T any](client dapr.Client, store string, size int) *Log[T] {
	return &Log[T]{dapr: client, store: store, size: int64(size)}
}

func pageKey(name string, k int64) string { return name + "-" + strconv.FormatInt(k, 10) }

// Append adds v as the newest entry of the list called name and returns its
// ordinal.
func (l *Log[T]) Append(ctx context.Context, name string, v T) (int64, error) {
	for range maxAttempts {
		docs, err := sidecar.ReadDocs(ctx, l.dapr, l.store, name)
		if err != nil {
			return 0, fmt.Errorf("append to %s: %w", name, err)
		}
		var h head[T]
		if err := docs[name].Decode(&h); err != nil {
			return 0, fmt.Errorf("append to %s: %w", name, err)
		}
		if h.Next-h.Sealed*l.size >= l.size {
			// Every append of this head state writes the same page.
			sealed := page[T]{Entries: h.Entries}
			if err := l.put(ctx, pageKey(name, h.Sealed), sealed); err != nil {
				return 0, fmt.Errorf("append to %s: %w", name, err)
			}
			h.Sealed++
			h.Entries = nil
		}
		n := h.Next
		h.Entries = append(h.Entries, Entry[T]{N: n, V: v})
		h.Next++
		err = sidecar.WriteDoc(ctx, l.dapr, l.store, name, h, docs[name].ETag)
		if errors.Is(err, sidecar.ErrConflict) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("append to %s: %w", name, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("append to %s: too much contention", name)
}

// put writes a sealed page unconditionally.
func (l *Log[T]) put(ctx context.Context, key string, p page[T]) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := l.dapr.SaveState(ctx, l.store, key, raw, nil); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// Remove deletes the entry with ordinal n from the list called name; an
// entry already gone is no error.
func (l *Log[T]) Remove(ctx context.Context, name string, n int64) error {
	for range maxAttempts {
		docs, err := sidecar.ReadDocs(ctx, l.dapr, l.store, name)
		if err != nil {
			return fmt.Errorf("remove from %s: %w", name, err)
		}
		var h head[T]
		if err := docs[name].Decode(&h); err != nil {
			return fmt.Errorf("remove from %s: %w", name, err)
		}
		key, etag := name, docs[name].ETag
		var doc any = &h
		entries := &h.Entries
		if n < h.Sealed*l.size {
			key = pageKey(name, n/l.size)
			pages, err := sidecar.ReadDocs(ctx, l.dapr, l.store, key)
			if err != nil {
				return fmt.Errorf("remove from %s: %w", name, err)
			}
			var p page[T]
			if err := pages[key].Decode(&p); err != nil {
				return fmt.Errorf("remove from %s: %w", key, err)
			}
			doc, entries, etag = &p, &p.Entries, pages[key].ETag
		}
		i := slices.IndexFunc(*entries, func(e Entry[T]) bool { return e.N == n })
		if i < 0 {
			return nil
		}
		*entries = slices.Delete(*entries, i, i+1)
		err = sidecar.WriteDoc(ctx, l.dapr, l.store, key, doc, etag)
		if errors.Is(err, sidecar.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("remove from %s: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("remove from %s: too much contention", name)
}

// Walk calls fn with the entries of the list called name, newest first, a
// page at a time, until fn returns false, the list ends, or maxPages sealed
// pages have been read after the head. It costs one read for the head and
// one for every readAhead pages.
func (l *Log[T]) Walk(ctx context.Context, name string, maxPages int,
	fn func(ctx context.Context, entries []Entry[T]) (bool, error),
) error {
	docs, err := sidecar.ReadDocs(ctx, l.dapr, l.store, name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	var h head[T]
	if err := docs[name].Decode(&h); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	more, err := fn(ctx, newestFirst(h.Entries))
	if err != nil || !more {
		return err
	}

	last := max(0, h.Sealed-int64(maxPages))
	for k := h.Sealed - 1; k >= last; k -= readAhead {
		keys := make([]string, 0, readAhead)
		for j := k; j > k-readAhead && j >= last; j-- {
			keys = append(keys, pageKey(name, j))
		}
		pages, err := sidecar.ReadDocs(ctx, l.dapr, l.store, keys...)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		for _, key := range keys {
			var p page[T]
			if err := pages[key].Decode(&p); err != nil {
				return fmt.Errorf("read %s: %w", key, err)
			}
			more, err := fn(ctx, newestFirst(p.Entries))
			if err != nil || !more {
				return err
			}
		}
	}
	return nil
}

func newestFirst[T any](entries []Entry[T]) []Entry[T] {
	out := slices.Clone(entries)
	slices.Reverse(out)
	return out
}
