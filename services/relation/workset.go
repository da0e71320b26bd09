package relation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	dapr "github.com/dapr/go-sdk/client"
)

// workset is the documents one change reads and writes, with the ETag each
// had when read. Changes edit the decoded documents in memory and mark what
// they modified; commit then writes everything marked in one state
// transaction, each write guarded by the ETag read (or, for a document that
// did not exist, by first-write insertion). If anything changed in between,
// the transaction fails and the change is run again on fresh reads.
type workset struct {
	dapr  dapr.Client
	store string
	slots map[string]*slot
}

// slot is one document of a workset.
type slot struct {
	// doc is the decoded document: *pairDoc, *nodeDoc, *pageDoc or
	// *outboxDoc, zero-valued when the key did not exist.
	doc any
	// etag is the ETag read; exists says whether the key existed.
	etag   string
	exists bool
	// dirty marks a document to write, gone one to delete.
	dirty, gone bool
}

func newWorkset(client dapr.Client, store string) *workset {
	return &workset{dapr: client, store: store, slots: make(map[string]*slot)}
}

// load reads, in one round trip, the keys not yet in the workset.
func (w *workset) load(ctx context.Context, keys ...string) error {
	missing := make([]string, 0, len(keys))
	for _, k := range keys {
		if _, ok := w.slots[k]; !ok && !slices.Contains(missing, k) {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	items, err := w.dapr.GetBulkState(ctx, w.store, missing, nil, 0)
	if err != nil {
		return fmt.Errorf("bulk read relations: %w", err)
	}
	for _, it := range items {
		if it.Error != "" {
			return fmt.Errorf("bulk read relations: key %s: %s", it.Key, it.Error)
		}
		doc, err := decodeDoc(it.Key, it.Value)
		if err != nil {
			return err
		}
		w.slots[it.Key] = &slot{doc: doc, etag: it.Etag, exists: len(it.Value) > 0}
	}
	for _, k := range missing {
		if _, ok := w.slots[k]; !ok {
			return fmt.Errorf("bulk read relations: no answer for key %s", k)
		}
	}
	return nil
}

// doc returns the document under key, reading it if needed.
func (w *workset) doc(ctx context.Context, key string) (any, error) {
	if err := w.load(ctx, key); err != nil {
		return nil, err
	}
	return w.slots[key].doc, nil
}

// exists reports whether a loaded key existed when read or was created.
func (w *workset) exists(key string) bool {
	s, ok := w.slots[key]
	return ok && !s.gone && (s.exists || s.dirty)
}

// touch marks a loaded document as modified.
func (w *workset) touch(key string) {
	s := w.slots[key]
	s.dirty, s.gone = true, false
}

// create adds a document that must not exist yet.
func (w *workset) create(key string, doc any) {
	w.slots[key] = &slot{doc: doc, dirty: true}
}

// drop marks a loaded document for deletion.
func (w *workset) drop(key string) {
	s := w.slots[key]
	s.dirty, s.gone = false, true
}

// changed reports whether anything is to be written.
func (w *workset) changed() bool {
	for _, s := range w.slots {
		if s.dirty || (s.gone && s.exists) {
			return true
		}
	}
	return false
}

var firstWrite = &dapr.StateOptions{Concurrency: dapr.StateConcurrencyFirstWrite}

// commit writes every marked document in one transaction, in key order.
func (w *workset) commit(ctx context.Context) error {
	keys := w.writtenKeys()
	ops := make([]*dapr.StateOperation, 0, len(keys))
	for _, k := range keys {
		s := w.slots[k]
		item := &dapr.SetStateItem{Key: k, Options: firstWrite}
		if s.exists {
			item.Etag = &dapr.ETag{Value: s.etag}
		}
		if s.gone {
			ops = append(ops, &dapr.StateOperation{Type: dapr.StateOperationTypeDelete, Item: item})
			continue
		}
		val, err := json.Marshal(s.doc)
		if err != nil {
			return fmt.Errorf("encode %s: %w", k, err)
		}
		item.Value = val
		ops = append(ops, &dapr.StateOperation{Type: dapr.StateOperationTypeUpsert, Item: item})
	}
	if err := w.dapr.ExecuteStateTransaction(ctx, w.store, nil, ops); err != nil {
		return fmt.Errorf("commit relation change: %w", err)
	}
	return nil
}

// writtenKeys lists, sorted, the keys commit writes or deletes.
func (w *workset) writtenKeys() []string {
	keys := make([]string, 0, len(w.slots))
	for k, s := range w.slots {
		if s.dirty || (s.gone && s.exists) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// conflicted tells a lost race from a failure after commit failed: stores
// report a refused ETag in a transaction in different ways, so it re-reads
// what the transaction wrote and reports whether any of it changed since
// the workset read it.
func (w *workset) conflicted(ctx context.Context) (bool, error) {
	keys := w.writtenKeys()
	items, err := w.dapr.GetBulkState(ctx, w.store, keys, nil, 0)
	if err != nil {
		return false, fmt.Errorf("re-read relations: %w", err)
	}
	for _, it := range items {
		s := w.slots[it.Key]
		if s == nil || it.Error != "" {
			continue
		}
		now := len(it.Value) > 0
		if now != s.exists || (now && it.Etag != s.etag) {
			return true, nil
		}
	}
	return false, nil
}

// decodeDoc decodes a stored document by the kind its key names; an absent
// value gives the zero document.
func decodeDoc(key string, raw []byte) (any, error) {
	var doc any
	switch {
	case strings.HasPrefix(key, pairPrefix):
		doc = &pairDoc{}
	case strings.HasPrefix(key, nodePrefix):
		doc = &nodeDoc{}
	case strings.HasPrefix(key, pagePrefix):
		doc = &pageDoc{}
	case strings.HasPrefix(key, outboxPrefix):
		doc = &outboxDoc{}
	default:
		return nil, fmt.Errorf("decode %s: unknown kind of key", key)
	}
	if len(raw) == 0 {
		return doc, nil
	}
	if err := json.Unmarshal(raw, doc); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return doc, nil
}
