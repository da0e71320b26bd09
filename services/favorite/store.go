package favorite

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
	"github.com/douvo/douvo/internal/platform/tally"
)

// Record is the like record of one user and video: the truth of whether
// the user likes the video, and its outbox.
type Record struct {
	UserID   int64 `json:"user_id"`
	VideoID  int64 `json:"video_id"`
	AuthorID int64 `json:"author_id"`
	Liked    bool  `json:"liked"`
	// Version counts the record's changes; 0 for a record never written.
	Version int64 `json:"version"`
	// At is the time of the latest change in Unix milliseconds.
	At int64 `json:"at"`
	// Entry is the ordinal of the like's entry in the user's list while
	// Liked.
	Entry int64 `json:"entry"`
	// Pending marks a change whose event may not be published yet.
	Pending bool `json:"pending,omitempty"`
}

// Event is the record's state as an event.
func (r Record) Event() Like {
	return Like{UserID: r.UserID, VideoID: r.VideoID, AuthorID: r.AuthorID, Liked: r.Liked,
		Version: r.Version, At: r.At}
}

// OutboxState implements outbox.Stored.
func (r Record) OutboxState() (int64, bool, outbox.Event) {
	ev := r.Event()
	return r.Version, r.Pending, outbox.Event{Topic: Topic, ID: ev.EventID(), Data: ev}
}

// ClearPending implements outbox.Stored.
func (r *Record) ClearPending() { r.Pending = false }

// ListEntry is an entry of a user's list of likes: the video and the
// version of the record the like gave it. An entry is current while the
// record stands liked at that version.
type ListEntry struct {
	VideoID int64 `json:"video_id"`
	Version int64 `json:"version"`
}

// Store is what the like service needs from storage.
type Store interface {
	// Record reads the like record of user and video, with its ETag (empty
	// for a record never written, which is returned unliked at version 0).
	Record(ctx context.Context, user, video int64) (Record, string, error)
	// Records reads the records of user for videos in one round trip, by
	// video; records never written are left out.
	Records(ctx context.Context, user int64, videos []int64) (map[int64]Record, error)
	// Save writes r if the record is still as read with etag, or returns an
	// error wrapping sidecar.ErrConflict.
	Save(ctx context.Context, r Record, etag string) error
	// Append adds an entry to user's list and returns its ordinal.
	Append(ctx context.Context, user int64, e ListEntry) (int64, error)
	// Remove deletes the entry with ordinal n from user's list.
	Remove(ctx context.Context, user, n int64) error
	// Walk reads user's list newest first, a page at a time, until fn
	// returns false or the list ends.
	Walk(ctx context.Context, user int64, fn func(ctx context.Context, entries []ListEntry) (bool, error)) error
	// Count applies a like event to the liker's and the author's counters,
	// once however often it is applied.
	Count(ctx context.Context, l Like) error
	// Counts reads the counters of users in one round trip.
	Counts(ctx context.Context, users []int64) ([]Counts, error)
}

// Keys of the like store; Dapr prefixes them with the app-id. No document
// grows without bound: lists are paged (internal/platform/pagelog), and the
// rest are one per user, or per user and video.
//
//	like-<user>-<video>     the Record
//	likes-<user>            head of the user's list; likes-<user>-<k> its pages
//	counts-<user>           the user's counters: given, received (tally)
//	given-<user>-<video>    the tally's marker of the like for the liker's count
//	got-<user>-<video>      the tally's marker of the like for the author's count
func recordKey(user, video int64) string {
	return "like-" + strconv.FormatInt(user, 10) + "-" + strconv.FormatInt(video, 10)
}

func listKey(user int64) string { return "likes-" + strconv.FormatInt(user, 10) }

func countsKey(user int64) string { return "counts-" + strconv.FormatInt(user, 10) }

func pairKey(prefix string, user, video int64) string {
	return prefix + "-" + strconv.FormatInt(user, 10) + "-" + strconv.FormatInt(video, 10)
}

// Counter fields of a user's counter document.
const (
	fieldGiven    = "given"
	fieldReceived = "received"
)

// DaprStore keeps likes in a Dapr state store. Every write is a single
// guarded write of one document, atomic on every store.
type DaprStore struct {
	dapr  dapr.Client
	name  string
	lists *pagelog.Log[ListEntry]
	tally *tally.Tally
}

// NewDaprStore returns a Store on the Dapr state store component called
// name.
func NewDaprStore(client dapr.Client, name string) *DaprStore {
	return &DaprStore{dapr: client, name: name,
		lists: pagelog.New[ListEntry](client, name, pageSize),
		tally: tally.New(client, name)}
}

// Record reads one like record.
func (s *DaprStore) Record(ctx context.Context, user, video int64) (Record, string, error) {
	key := recordKey(user, video)
	docs, err := sidecar.ReadDocs(ctx, s.dapr, s.name, key)
	if err != nil {
		return Record{}, "", fmt.Errorf("read like: %w", err)
	}
	r := Record{UserID: user, VideoID: video}
	if err := docs[key].Decode(&r); err != nil {
		return Record{}, "", fmt.Errorf("read like %s: %w", key, err)
	}
	return r, docs[key].ETag, nil
}

// Records reads many like records with one bulk read.
func (s *DaprStore) Records(ctx context.Context, user int64, videos []int64) (map[int64]Record, error) {
	keys := make([]string, 0, len(videos))
	for _, v := range videos {
		keys = append(keys, recordKey(user, v))
	}
	docs, err := sidecar.ReadDocs(ctx, s.dapr, s.name, keys...)
	if err != nil {
		return nil, fmt.Errorf("read likes: %w", err)
	}
	out := make(map[int64]Record, len(videos))
	for _, v := range videos {
		d := docs[recordKey(user, v)]
		if !d.Exists() {
			continue
		}
		var r Record
		if err := d.Decode(&r); err != nil {
			return nil, fmt.Errorf("read like of %d: %w", v, err)
		}
		out[v] = r
	}
	return out, nil
}

// Save writes a like record with a compare-and-set.
func (s *DaprStore) Save(ctx context.Context, r Record, etag string) error {
	if err := sidecar.WriteDoc(ctx, s.dapr, s.name, recordKey(r.UserID, r.VideoID), r, etag); err != nil {
		return fmt.Errorf("save like: %w", err)
	}
	return nil
}

// Append adds an entry to a user's list.
func (s *DaprStore) Append(ctx context.Context, user int64, e ListEntry) (int64, error) {
	n, err := s.lists.Append(ctx, listKey(user), e)
	if err != nil {
		return 0, fmt.Errorf("list like: %w", err)
	}
	return n, nil
}

// Remove deletes an entry from a user's list.
func (s *DaprStore) Remove(ctx context.Context, user, n int64) error {
	if err := s.lists.Remove(ctx, listKey(user), n); err != nil {
		return fmt.Errorf("unlist like: %w", err)
	}
	return nil
}

// Walk reads a user's list newest first.
func (s *DaprStore) Walk(ctx context.Context, user int64,
	fn func(ctx context.Context, entries []ListEntry) (bool, error),
) error {
	err := s.lists.Walk(ctx, listKey(user), maxListPages,
		func(ctx context.Context, entries []pagelog.Entry[ListEntry]) (bool, error) {
			out := make([]ListEntry, 0, len(entries))
			for _, e := range entries {
				out = append(out, e.V)
			}
			return fn(ctx, out)
		})
	if err != nil {
		return fmt.Errorf("read likes: %w", err)
	}
	return nil
}

// Count applies a like event to the liker's favorite_count and the author's
// total_favorited, concurrently. Each counter takes it in once; when one
// fails, the event is applied again, and the other ignores it then.
func (s *DaprStore) Count(ctx context.Context, l Like) error {
	var value int64
	if l.Liked {
		value = 1
	}
	changes := []tally.Change{
		{Doc: countsKey(l.UserID), Field: fieldGiven, Source: pairKey("given", l.UserID, l.VideoID),
			Version: l.Version, Value: value},
		{Doc: countsKey(l.AuthorID), Field: fieldReceived, Source: pairKey("got", l.UserID, l.VideoID),
			Version: l.Version, Value: value},
	}
	errs := make([]error, len(changes))
	var wg sync.WaitGroup
	for i, ch := range changes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.tally.Apply(ctx, ch)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("count like %s: %w", l.EventID(), err)
	}
	return nil
}

// Counts reads the counter documents of users with one bulk read.
func (s *DaprStore) Counts(ctx context.Context, users []int64) ([]Counts, error) {
	keys := make([]string, 0, len(users))
	for _, u := range users {
		keys = append(keys, countsKey(u))
	}
	docs, err := s.tally.Read(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("like counts: %w", err)
	}
	out := make([]Counts, 0, len(users))
	for _, u := range users {
		c := docs[countsKey(u)]
		out = append(out, Counts{UserID: u, FavoriteCount: c[fieldGiven], TotalFavorited: c[fieldReceived]})
	}
	return out, nil
}

// maxAttempts bounds the optimistic retries of one change.
const maxAttempts = 64
