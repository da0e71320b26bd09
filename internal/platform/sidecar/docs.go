package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	dapr "github.com/dapr/go-sdk/client"
)

// ErrConflict reports a guarded write refused because the document changed
// since it was read (or, for a first write, because it exists). Re-read and
// decide again.
var ErrConflict = errors.New("document changed since it was read")

// Doc is a state document as read, with its ETag. An empty ETag means the
// document is absent.
type Doc struct {
	Value []byte
	ETag  string
}

// Exists reports whether the document was present when read.
func (d Doc) Exists() bool { return d.ETag != "" || len(d.Value) > 0 }

// Decode unmarshals the document into v; an absent document leaves v as it
// is.
func (d Doc) Decode(v any) error {
	if len(d.Value) == 0 {
		return nil
	}
	if err := json.Unmarshal(d.Value, v); err != nil {
		return fmt.Errorf("decode document: %w", err)
	}
	return nil
}

// ReadDocs reads keys from the state store in one round trip. Every key is
// in the answer; absent ones map to the zero Doc.
func ReadDocs(ctx context.Context, client dapr.Client, store string, keys ...string) (map[string]Doc, error) {
	out := make(map[string]Doc, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	items, err := client.GetBulkState(ctx, store, keys, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("bulk read: %w", err)
	}
	for _, it := range items {
		if it.Error != "" {
			return nil, fmt.Errorf("bulk read: key %s: %s", it.Key, it.Error)
		}
		if len(it.Value) > 0 {
			out[it.Key] = Doc{Value: it.Value, ETag: it.Etag}
		}
	}
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			out[k] = Doc{}
		}
	}
	return out, nil
}

// WriteDoc stores v as JSON under key if the document is still as read: a
// compare-and-set on etag, or a first write when etag is empty. A single
// guarded write is atomic on every state store. It returns an error
// wrapping ErrConflict when the document changed meanwhile; stores that
// report a lost first write in their own words are recognised by reading
// the key again.
func WriteDoc(ctx context.Context, client dapr.Client, store, key string, v any, etag string) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	firstWrite := dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite)
	if etag != "" {
		err = client.SaveStateWithETag(ctx, store, key, raw, etag, nil, firstWrite)
	} else {
		err = client.SaveState(ctx, store, key, raw, nil, firstWrite)
	}
	switch {
	case err == nil:
		return nil
	case IsETagMismatch(err):
		return fmt.Errorf("write %s: %w", key, ErrConflict)
	case etag == "":
		item, getErr := client.GetState(ctx, store, key, nil)
		if getErr == nil && len(item.Value) > 0 {
			return fmt.Errorf("write %s: %w", key, ErrConflict)
		}
	}
	return fmt.Errorf("write %s: %w", key, err)
}
