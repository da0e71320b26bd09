package comment

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/douvo/douvo/internal/platform/outbox"
	"github.com/douvo/douvo/internal/platform/pagelog"
	"github.com/douvo/douvo/internal/platform/sidecar"
)

// Record is a stored comment and its outbox.
type Record struct {
	ID      int64  `json:"id"`
	VideoID int64  `json:"video_id"`
	UserID  int64  `json:"user_id"`
	Content string `json:"content"`
	// VideoAuthor may delete the comment, as its author may.
	VideoAuthor int64 `json:"video_author"`
	CreatedAt   int64 `json:"created_at"`
	Deleted     bool  `json:"deleted,omitempty"`
	// Version is 1 once written and 2 once deleted.
	Version int64 `json:"version"`
	// At is the time of the latest change in Unix milliseconds.
	At int64 `json:"at"`
	// Entry is the ordinal of the comment's entry in its video's list.
	Entry int64 `json:"entry"`
	// Pending marks a change whose event may not be published yet.
	Pending bool `json:"pending,omitempty"`
}

// Comment is the record as callers see it.
func (r Record) Comment() Comment {
	return Comment{ID: r.ID, VideoID: r.VideoID, UserID: r.UserID, Content: r.Content,
		CreatedAt: r.CreatedAt}
}

// Event is the record's state as an event.
func (r Record) Event() Event {
	return Event{CommentID: r.ID, VideoID: r.VideoID, UserID: r.UserID, Deleted: r.Deleted,
		Version: r.Version, At: r.At}
}

// OutboxState implements outbox.Stored.
func (r Record) OutboxState() (int64, bool, outbox.Event) {
	ev := r.Event()
	return r.Version, r.Pending, outbox.Event{Topic: Topic, ID: ev.EventID(), Data: ev}
}

// ClearPending implements outbox.Stored.
func (r *Record) ClearPending() { r.Pending = false }

// Store is what the comment service needs from storage.
type Store interface {
	// NextID allocates the next comment id. Ids are sequential and unique
	// across every instance of the service sharing the store.
	NextID(ctx context.Context) (int64, error)
	// Record reads one comment with its ETag; ok is false when it does not
	// exist.
	Record(ctx context.Context, id int64) (r Record, etag string, ok bool, err error)
	// Records reads comments in one round trip, by id; unknown ids are
	// left out.
	Records(ctx context.Context, ids []int64) (map[int64]Record, error)
	// Save writes r if the record is still as read with etag (a first
	// write when etag is empty), or returns an error wrapping
	// sidecar.ErrConflict.
	Save(ctx context.Context, r Record, etag string) error
	// Append adds a comment id to its video's list and returns its ordinal.
	Append(ctx context.Context, video, id int64) (int64, error)
	// Remove deletes the entry with ordinal n from a video's list.
	Remove(ctx context.Context, video, n int64) error
	// Walk reads a video's list newest first, a page at a time, until fn
	// returns false or the list ends. Each entry holds a comment id and its
	// ordinal in the list.
	Walk(ctx context.Context, video int64,
		fn func(ctx context.Context, entries []pagelog.Entry[int64]) (bool, error)) error
}

// Keys of the comment store; Dapr prefixes them with the app-id. No document
// grows without bound: lists are paged (internal/platform/pagelog), and the
// rest are one per comment.
//
//	seq                      the last comment id given
//	comment-<id>             the Record
//	comments-<video>         head of the video's list; comments-<video>-<k> its pages
const seqKey = "seq"

func recordKey(id int64) string  { return "comment-" + strconv.FormatInt(id, 10) }
func listKey(video int64) string { return "comments-" + strconv.FormatInt(video, 10) }

// maxAttempts bounds the optimistic retries of one write.
const maxAttempts = 64

// DaprStore keeps comments in a Dapr state store. Every write is a single
// guarded write of one document, atomic on every store.
type DaprStore struct {
	dapr  dapr.Client
	name  string
	lists *pagelog.Log[int64]
	// seq serialises this instance's id allocations, so that they queue
	// instead of conflicting; instances still race, and retry.
	seq sync.Mutex
}

// NewDaprStore returns a Store on the Dapr state store component called
// name.
func NewDaprStore(client dapr.Client, name string) *DaprStore {
	return &DaprStore{dapr: client, name: name, lists: pagelog.New[int64](client, name, pageSize)}
}

// seqDoc is the value under the sequence key.
type seqDoc struct {
	Last int64 `json:"last"`
}

// NextID advances the sequence with a compare-and-set.
func (s *DaprStore) NextID(ctx context.Context) (int64, error) {
	s.seq.Lock()
	defer s.seq.Unlock()
	for range maxAttempts {
		docs, err := sidecar.ReadDocs(ctx, s.dapr, s.name, seqKey)
		if err != nil {
			return 0, fmt.Errorf("read comment ids: %w", err)
		}
		var sq seqDoc
		if err := docs[seqKey].Decode(&sq); err != nil {
			return 0, fmt.Errorf("read comment ids: %w", err)
		}
		sq.Last++
		err = sidecar.WriteDoc(ctx, s.dapr, s.name, seqKey, sq, docs[seqKey].ETag)
		if errors.Is(err, sidecar.ErrConflict) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("advance comment ids: %w", err)
		}
		return sq.Last, nil
	}
	return 0, errors.New("advance comment ids: too much contention")
}

// Record reads one comment.
func (s *DaprStore) Record(ctx context.Context, id int64) (Record, string, bool, error) {
	key := recordKey(id)
	docs, err := sidecar.ReadDocs(ctx, s.dapr, s.name, key)
	if err != nil {
		return Record{}, "", false, fmt.Errorf("read comment: %w", err)
	}
	var r Record
	if err := docs[key].Decode(&r); err != nil {
		return Record{}, "", false, fmt.Errorf("read comment %d: %w", id, err)
	}
	return r, docs[key].ETag, docs[key].Exists(), nil
}

// Records reads comments with one bulk read.
func (s *DaprStore) Records(ctx context.Context, ids []int64) (map[int64]Record, error) {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, recordKey(id))
	}
	docs, err := sidecar.ReadDocs(ctx, s.dapr, s.name, keys...)
	if err != nil {
		return nil, fmt.Errorf("read comments: %w", err)
	}
	out := make(map[int64]Record, len(ids))
	for _, id := range ids {
		d := docs[recordKey(id)]
		if !d.Exists() {
			continue
		}
		var r Record
		if err := d.Decode(&r); err != nil {
			return nil, fmt.Errorf("read comment %d: %w", id, err)
		}
		out[id] = r
	}
	return out, nil
}

// Save writes a comment with a compare-and-set or a first write.
func (s *DaprStore) Save(ctx context.Context, r Record, etag string) error {
	if err := sidecar.WriteDoc(ctx, s.dapr, s.name, recordKey(r.ID), r, etag); err != nil {
		return fmt.Errorf("save comment: %w", err)
	}
	return nil
}

// Append adds a comment to its video's list.
func (s *DaprStore) Append(ctx context.Context, video, id int64) (int64, error) {
	n, err := s.lists.Append(ctx, listKey(video), id)
	if err != nil {
		return 0, fmt.Errorf("list comment: %w", err)
	}
	return n, nil
}

// Remove deletes an entry from a video's list.
func (s *DaprStore) Remove(ctx context.Context, video, n int64) error {
	if err := s.lists.Remove(ctx, listKey(video), n); err != nil {
		return fmt.Errorf("unlist comment: %w", err)
	}
	return nil
}

// Walk reads a video's list newest first.
func (s *DaprStore) Walk(ctx context.Context, video int64,
	fn func(ctx context.Context, entries []pagelog.Entry[int64]) (bool, error),
) error {
	if err := s.lists.Walk(ctx, listKey(video), maxListPages, fn); err != nil {
		return fmt.Errorf("read comments: %w", err)
	}
	return nil
}
