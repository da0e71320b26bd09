package video

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/douvo/douvo/internal/platform/tally"
)

// StoreName is the Dapr state store component the video service owns. The
// component is scoped to AppID, so no other service can read it.
const StoreName = "videostore"

// Record is a stored video: what clients see plus where its files are.
type Record struct {
	ID        int64  `json:"id"`
	AuthorID  int64  `json:"author_id"`
	Title     string `json:"title"`
	CreatedAt int64  `json:"created_at"`
	Format    Format `json:"format"`
	// Blob is the random name the video's files are stored under.
	Blob string `json:"blob"`
	// Size is the video file's length in bytes, stored in chunks of
	// ChunkSize bytes (the last one shorter).
	Size      int64 `json:"size"`
	ChunkSize int64 `json:"chunk_size"`
	CoverSize int64 `json:"cover_size"`
	// FavoriteCount and CommentCount are the counters the like and comment
	// events maintain. They are kept in a counter document of their own,
	// which Records reads in the same bulk read as the record.
	FavoriteCount int64 `json:"favorite_count"`
	CommentCount  int64 `json:"comment_count"`
}

// Video is the record as callers see it.
func (r Record) Video() Video {
	return Video{
		ID: r.ID, AuthorID: r.AuthorID, Title: r.Title, CreatedAt: r.CreatedAt,
		PlayPath:      "/media/videos/" + strconv.FormatInt(r.ID, 10) + "." + string(r.Format),
		CoverPath:     "/media/covers/" + strconv.FormatInt(r.ID, 10) + ".jpg",
		FavoriteCount: r.FavoriteCount, CommentCount: r.CommentCount,
	}
}

// Store is what the video service needs from storage.
type Store interface {
	// Create commits a new video: it gives rec the next id and a publish
	// time that is at least nowMS and later than every earlier video's, and
	// makes it visible in the feed and its author's list at once. Ids are
	// sequential and unique across every instance of the service.
	Create(ctx context.Context, rec Record, nowMS int64) (Record, error)
	// Records reads the given videos in one round trip, skipping unknown ids
	// and keeping the order of ids.
	Records(ctx context.Context, ids []int64) ([]Record, error)
	// Newest returns the id of the newest video published strictly before
	// beforeMS (any time when beforeMS is zero), or 0 when there is none.
	Newest(ctx context.Context, beforeMS int64) (int64, error)
	// ByAuthor returns the ids of an author's newest videos, newest first, at
	// most limit of them.
	ByAuthor(ctx context.Context, author int64, limit int) ([]int64, error)
	// WorkCounts returns how many videos each of the authors has published;
	// authors without videos are left out.
	WorkCounts(ctx context.Context, authors []int64) (map[int64]int64, error)
	// CountLike and CountComment apply one event to its video's counter,
	// once however often they are applied, and ignore an event older than
	// one already applied for the same like or comment. An event about a
	// video that does not exist returns an error wrapping ErrNotFound.
	CountLike(ctx context.Context, ev LikeEvent) error
	CountComment(ctx context.Context, ev CommentEvent) error
}

// Keys of the video store; Dapr prefixes them with the app-id. No document
// grows without bound: the head and the author documents hold counters, a
// works page holds at most worksPerPage ids, a counter document the few
// likes and comments being counted at that moment, and the rest are one per
// video, per like or per comment.
//
//	seq                      the head: newest id and its publish time
//	video-<id>               the Record
//	counts-<id>              the video's counters: favorites, comments (tally)
//	at-<ms>                  the id published at that millisecond
//	author-<id>              how many videos the author has published
//	works-<id>-<page>        ids of the author's videos number page*100 to page*100+99
//	mark-like-<id>-<user>    the version of the user's like the counter has taken in
//	mark-comment-<comment>   the version of the comment the counter has taken in
const seqKey = "seq"

func videoKey(id int64) string  { return "video-" + strconv.FormatInt(id, 10) }
func countsKey(id int64) string { return "counts-" + strconv.FormatInt(id, 10) }
func atKey(ms int64) string     { return "at-" + strconv.FormatInt(ms, 10) }
func authorKey(id int64) string {
	return "author-" + strconv.FormatInt(id, 10)
}

func worksKey(author, page int64) string {
	return "works-" + strconv.FormatInt(author, 10) + "-" + strconv.FormatInt(page, 10)
}

// worksPerPage is how many ids one works page holds.
const worksPerPage = 100

// searchFanout is how many videos one round of the feed's fallback search
// reads at once.
const searchFanout = 64

type (
	headDoc struct {
		ID int64 `json:"id"`
		MS int64 `json:"ms"`
	}
	atDoc struct {
		ID int64 `json:"id"`
	}
	authorDoc struct {
		Works int64 `json:"works"`
	}
	worksDoc struct {
		IDs []int64 `json:"ids"`
	}
)

// DaprStore keeps videos in a Dapr state store as JSON documents.
//
// Ids are dense: an id is taken in the same transaction that stores the
// video, so every id up to the head's is a stored video, and publish times
// grow with ids. The feed is therefore a walk down the ids: a page reads
// the head and the at-<ms> key of its latest_time (one bulk read), then the
// page's records (one bulk read). A latest_time that is neither absent, nor
// past the head, nor a publish time that a page handed out as next_time, is
// found by a search reading searchFanout records per round: three rounds
// cover a quarter of a million videos.
type DaprStore struct {
	dapr  dapr.Client
	name  string
	tally *tally.Tally

	// creating serialises this instance's publishes. The ETags of each
	// transaction keep instances apart, but a store that does not roll a
	// failed transaction back (Redis applies the rest of a MULTI whose ETag
	// check failed) must never see two racing transactions; within one
	// instance they therefore queue here. Several instances on such a store
	// can still race: run one video instance on Redis.
	creating sync.Mutex
}

// NewDaprStore returns a Store on the Dapr state store component called name.
func NewDaprStore(client dapr.Client, name string) *DaprStore {
	return &DaprStore{dapr: client, name: name, tally: tally.New(client, name)}
}

// maxCreateAttempts bounds the optimistic retries of Create under contention.
const maxCreateAttempts = 64

// doc is one document read with its ETag; an empty ETag means it is absent.
type doc struct {
	raw  []byte
	etag string
}

// Create runs an optimistic transaction: it reads the head, the author's
// count and works page with their ETags, then writes the five documents in
// one transaction guarded by those ETags, retrying when another publish won
// the race.
func (s *DaprStore) Create(ctx context.Context, rec Record, nowMS int64) (Record, error) {
	s.creating.Lock()
	defer s.creating.Unlock()
	for range maxCreateAttempts {
		docs, err := s.bulk(ctx, seqKey, authorKey(rec.AuthorID))
		if err != nil {
			return Record{}, fmt.Errorf("create video: %w", err)
		}
		head, author := docs[seqKey], docs[authorKey(rec.AuthorID)]
		var h headDoc
		var a authorDoc
		if err := decode(head.raw, &h); err != nil {
			return Record{}, fmt.Errorf("create video: head: %w", err)
		}
		if err := decode(author.raw, &a); err != nil {
			return Record{}, fmt.Errorf("create video: author: %w", err)
		}
		pageKey := worksKey(rec.AuthorID, a.Works/worksPerPage)
		pages, err := s.bulk(ctx, pageKey)
		if err != nil {
			return Record{}, fmt.Errorf("create video: %w", err)
		}
		page := pages[pageKey]
		var w worksDoc
		if err := decode(page.raw, &w); err != nil {
			return Record{}, fmt.Errorf("create video: works page: %w", err)
		}

		rec.ID = h.ID + 1
		rec.CreatedAt = max(nowMS, h.MS+1)
		w.IDs = append(w.IDs, rec.ID)
		ops, err := operations(
			put{seqKey, headDoc{ID: rec.ID, MS: rec.CreatedAt}, head.etag},
			put{videoKey(rec.ID), rec, ""},
			put{atKey(rec.CreatedAt), atDoc{ID: rec.ID}, ""},
			put{authorKey(rec.AuthorID), authorDoc{Works: a.Works + 1}, author.etag},
			put{pageKey, w, page.etag},
		)
		if err != nil {
			return Record{}, fmt.Errorf("create video: %w", err)
		}
		txErr := s.dapr.ExecuteStateTransaction(ctx, s.name, nil, ops)
		if txErr == nil {
			return rec, nil
		}

		// Stores report a lost ETag race in a transaction differently; a
		// moved head or author count tells. A transaction reported failed
		// may also have committed: then the video is there, with our blob.
		after, err := s.bulk(ctx, seqKey, authorKey(rec.AuthorID), videoKey(rec.ID))
		if err != nil {
			return Record{}, fmt.Errorf("create video: %w: %w", txErr, err)
		}
		var mine Record
		if d, ok := after[videoKey(rec.ID)]; ok && decode(d.raw, &mine) == nil && mine.Blob == rec.Blob {
			return rec, nil
		}
		if after[seqKey].etag == head.etag && after[authorKey(rec.AuthorID)].etag == author.etag {
			return Record{}, fmt.Errorf("create video: %w", txErr)
		}
	}
	return Record{}, errors.New("create video: too much contention")
}

// put is one write of a transaction. An empty etag makes it a first write:
// the key must not exist yet.
type put struct {
	key   string
	value any
	etag  string
}

var firstWrite = &dapr.StateOptions{Concurrency: dapr.StateConcurrencyFirstWrite}

func operations(puts ...put) ([]*dapr.StateOperation, error) {
	ops := make([]*dapr.StateOperation, 0, len(puts))
	for _, p := range puts {
		raw, err := json.Marshal(p.value)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", p.key, err)
		}
		item := &dapr.SetStateItem{Key: p.key, Value: raw, Options: firstWrite}
		if p.etag != "" {
			item.Etag = &dapr.ETag{Value: p.etag}
		}
		ops = append(ops, &dapr.StateOperation{Type: dapr.StateOperationTypeUpsert, Item: item})
	}
	return ops, nil
}

// bulk reads keys in one round trip. Absent keys map to an empty doc.
func (s *DaprStore) bulk(ctx context.Context, keys ...string) (map[string]doc, error) {
	items, err := s.dapr.GetBulkState(ctx, s.name, keys, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("bulk read: %w", err)
	}
	out := make(map[string]doc, len(items))
	for _, it := range items {
		if it.Error != "" {
			return nil, fmt.Errorf("bulk read: key %s: %s", it.Key, it.Error)
		}
		if len(it.Value) > 0 {
			out[it.Key] = doc{raw: it.Value, etag: it.Etag}
		}
	}
	return out, nil
}

// decode unmarshals raw into v; an absent document leaves v zero.
func decode(raw []byte, v any) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// Records reads the records of ids and their counters with one bulk read.
func (s *DaprStore) Records(ctx context.Context, ids []int64) ([]Record, error) {
	if len(ids) == 0 {
		return []Record{}, nil
	}
	keys := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		keys = append(keys, videoKey(id), countsKey(id))
	}
	docs, err := s.bulk(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("read videos: %w", err)
	}
	recs := make([]Record, 0, len(ids))
	for _, id := range ids {
		d, ok := docs[videoKey(id)]
		if !ok {
			continue
		}
		var r Record
		if err := decode(d.raw, &r); err != nil {
			return nil, fmt.Errorf("read video %d: %w", id, err)
		}
		counts, err := tally.Decode(docs[countsKey(id)].raw)
		if err != nil {
			return nil, fmt.Errorf("read counters of video %d: %w", id, err)
		}
		r.FavoriteCount, r.CommentCount = counts[fieldFavorites], counts[fieldComments]
		recs = append(recs, r)
	}
	return recs, nil
}

// Newest reads the head and, for a latest time, its at-key in one bulk
// read; only a time that is neither past the head nor a publish time falls
// back to the search.
func (s *DaprStore) Newest(ctx context.Context, beforeMS int64) (int64, error) {
	keys := []string{seqKey}
	if beforeMS > 0 {
		keys = append(keys, atKey(beforeMS))
	}
	docs, err := s.bulk(ctx, keys...)
	if err != nil {
		return 0, fmt.Errorf("feed start: %w", err)
	}
	var h headDoc
	if err := decode(docs[seqKey].raw, &h); err != nil {
		return 0, fmt.Errorf("feed start: head: %w", err)
	}
	if h.ID == 0 || beforeMS <= 0 || beforeMS > h.MS {
		return h.ID, nil
	}
	if d, ok := docs[atKey(beforeMS)]; ok {
		var at atDoc
		if err := decode(d.raw, &at); err != nil {
			return 0, fmt.Errorf("feed start: %w", err)
		}
		return at.ID - 1, nil
	}
	return s.search(ctx, beforeMS, h.ID)
}

// search finds the newest id published before beforeMS among ids below
// head, whose publish time is known to be at or after beforeMS. Each round
// reads up to searchFanout evenly spread records, narrowing the interval
// (lo, hi) that holds the boundary: lo is published before beforeMS (0 for
// none), hi is not.
func (s *DaprStore) search(ctx context.Context, beforeMS, head int64) (int64, error) {
	lo, hi := int64(0), head
	for hi-lo > 1 {
		gap := hi - lo - 1
		step := max(1, (gap+searchFanout-1)/searchFanout)
		var probes []int64
		for id := lo + step; id < hi; id += step {
			probes = append(probes, id)
		}
		recs, err := s.Records(ctx, probes)
		if err != nil {
			return 0, fmt.Errorf("feed search: %w", err)
		}
		nlo, nhi := lo, hi
		for _, r := range recs {
			if r.CreatedAt < beforeMS {
				nlo = max(nlo, r.ID)
			} else {
				nhi = min(nhi, r.ID)
			}
		}
		if nlo == lo && nhi == hi {
			return 0, fmt.Errorf("feed search: no videos between %d and %d", lo, hi)
		}
		lo, hi = nlo, nhi
	}
	return lo, nil
}

// ByAuthor reads the author's count, then the works pages that hold the
// newest limit ids, in two bulk reads.
func (s *DaprStore) ByAuthor(ctx context.Context, author int64, limit int) ([]int64, error) {
	docs, err := s.bulk(ctx, authorKey(author))
	if err != nil {
		return nil, fmt.Errorf("author's videos: %w", err)
	}
	var a authorDoc
	if err := decode(docs[authorKey(author)].raw, &a); err != nil {
		return nil, fmt.Errorf("author's videos: %w", err)
	}
	if a.Works == 0 || limit <= 0 {
		return []int64{}, nil
	}
	first := max(0, a.Works-int64(limit))
	var keys []string
	for p := first / worksPerPage; p <= (a.Works-1)/worksPerPage; p++ {
		keys = append(keys, worksKey(author, p))
	}
	pages, err := s.bulk(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("author's videos: %w", err)
	}
	var all []int64
	for _, k := range keys {
		var w worksDoc
		if err := decode(pages[k].raw, &w); err != nil {
			return nil, fmt.Errorf("author's videos: %s: %w", k, err)
		}
		all = append(all, w.IDs...)
	}
	ids := make([]int64, 0, limit)
	for i := len(all) - 1; i >= 0 && len(ids) < limit; i-- {
		ids = append(ids, all[i])
	}
	return ids, nil
}

// WorkCounts reads the author documents in one bulk read.
func (s *DaprStore) WorkCounts(ctx context.Context, authors []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(authors))
	if len(authors) == 0 {
		return out, nil
	}
	keys := make([]string, 0, len(authors))
	for _, id := range authors {
		keys = append(keys, authorKey(id))
	}
	docs, err := s.bulk(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("work counts: %w", err)
	}
	for _, id := range authors {
		d, ok := docs[authorKey(id)]
		if !ok {
			continue
		}
		var a authorDoc
		if err := decode(d.raw, &a); err != nil {
			return nil, fmt.Errorf("work count of %d: %w", id, err)
		}
		out[id] = a.Works
	}
	return out, nil
}

// Counter fields of a video's counter document.
const (
	fieldFavorites = "favorites"
	fieldComments  = "comments"
)

// CountLike counts a user's like of a video while it stands: 1 at a
// version where the user likes the video, 0 at one where they do not.
func (s *DaprStore) CountLike(ctx context.Context, ev LikeEvent) error {
	var value int64
	if ev.Liked {
		value = 1
	}
	return s.count(ctx, tally.Change{
		Doc: countsKey(ev.VideoID), Field: fieldFavorites,
		Source:  "mark-like-" + strconv.FormatInt(ev.VideoID, 10) + "-" + strconv.FormatInt(ev.UserID, 10),
		Version: ev.Version, Value: value, Requires: videoKey(ev.VideoID),
	})
}

// CountComment counts a comment until it is deleted.
func (s *DaprStore) CountComment(ctx context.Context, ev CommentEvent) error {
	var value int64
	if !ev.Deleted {
		value = 1
	}
	return s.count(ctx, tally.Change{
		Doc: countsKey(ev.VideoID), Field: fieldComments,
		Source:  "mark-comment-" + strconv.FormatInt(ev.CommentID, 10),
		Version: ev.Version, Value: value, Requires: videoKey(ev.VideoID),
	})
}

func (s *DaprStore) count(ctx context.Context, ch tally.Change) error {
	_, err := s.tally.Apply(ctx, ch)
	if errors.Is(err, tally.ErrMissing) {
		return fmt.Errorf("count %s: %w", ch.Source, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("count %s: %w", ch.Source, err)
	}
	return nil
}
