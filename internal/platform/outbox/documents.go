package outbox

import (
	"context"
	"errors"
	"fmt"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// Stored is a record that carries its own outbox, as kept in a state
// store.
type Stored interface {
	// OutboxState returns the record's version, whether it carries the
	// pending mark, and the event of that version.
	OutboxState() (version int64, pending bool, ev Event)
	// ClearPending removes the pending mark.
	ClearPending()
}

// Documents implements Records for records of type R kept as JSON
// documents in a Dapr state store, one document per record.
type Documents[R any, P interface {
	*R
	Stored
}] struct {
	client dapr.Client
	store  string
}

// NewDocuments returns the Records of type R in the state store component
// called store.
func NewDocuments[R any, P interface {
	*R
	Stored
}](client dapr.Client, store string) *Documents[R, P] {
	return &Documents[R, P]{client: client, store: store}
}

// maxClearAttempts bounds the optimistic retries of clearing one mark.
const maxClearAttempts = 64

// Pending implements Records.
func (d *Documents[R, P]) Pending(ctx context.Context, key string) (int64, *Event, error) {
	r, _, err := d.read(ctx, key)
	if err != nil {
		return 0, nil, err
	}
	version, pending, ev := P(&r).OutboxState()
	if !pending {
		return version, nil, nil
	}
	return version, &ev, nil
}

// Published implements Records: it clears the pending mark of the record
// under key by a compare-and-set, if the record is still at version.
func (d *Documents[R, P]) Published(ctx context.Context, key string, version int64) error {
	for range maxClearAttempts {
		r, etag, err := d.read(ctx, key)
		if err != nil {
			return err
		}
		if at, pending, _ := P(&r).OutboxState(); !pending || at != version {
			return nil
		}
		P(&r).ClearPending()
		err = sidecar.WriteDoc(ctx, d.client, d.store, key, r, etag)
		if errors.Is(err, sidecar.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("clear pending %s: %w", key, err)
		}
		return nil
	}
	return fmt.Errorf("clear pending %s: too much contention", key)
}

// read reads the record under key and its ETag; a missing record is the
// zero R.
func (d *Documents[R, P]) read(ctx context.Context, key string) (R, string, error) {
	var r R
	docs, err := sidecar.ReadDocs(ctx, d.client, d.store, key)
	if err != nil {
		return r, "", fmt.Errorf("read %s: %w", key, err)
	}
	if err := docs[key].Decode(&r); err != nil {
		return r, "", fmt.Errorf("read %s: %w", key, err)
	}
	return r, docs[key].ETag, nil
}
