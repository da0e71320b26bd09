package favorite

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/douvo/douvo/internal/platform/events"
	"github.com/douvo/douvo/internal/platform/outbox"
	"github.com/douvo/douvo/internal/platform/sidecar"
	"github.com/douvo/douvo/services/video"
)

// Videos resolves the author of a video, or returns video.ErrNotFound;
// video.Authors implements it.
type Videos interface {
	Author(ctx context.Context, id int64) (int64, error)
}

// Outbox runs the steps of a change and its event; outbox.Outbox
// implements it.
type Outbox interface {
	Begin(ctx context.Context, key string, version int64) (context.Context, context.CancelFunc, error)
	Finish(ctx context.Context, key string, version int64, ev outbox.Event)
}

// lockStripes is the number of in-process locks like records are spread
// over.
const lockStripes = 256

// Service implements the like service's business rules over a Store.
type Service struct {
	store  Store
	videos Videos
	outbox Outbox
	now    func() time.Time
	// locks serialise this instance's changes of one like record, so that
	// a user's double tap queues instead of conflicting. Instances still
	// race, and the loser of a compare-and-set reads again.
	locks [lockStripes]sync.Mutex
}

// NewService returns a Service on store that checks videos with videos and
// publishes through ob.
func NewService(store Store, videos Videos, ob Outbox) *Service {
	return &Service{store: store, videos: videos, outbox: ob, now: time.Now}
}

// Set makes user like (liked) or not like the video, and returns once the
// change is committed: the user's next request sees it. Setting the state
// the record already has succeeds and changes nothing. Two calls racing on
// one user and video commit one change; the other finds it done.
func (s *Service) Set(ctx context.Context, user, videoID int64, liked bool) error {
	if user <= 0 {
		return ErrBadUser
	}
	if videoID <= 0 {
		return ErrBadVideo
	}
	author, err := s.author(ctx, videoID)
	if err != nil {
		return err
	}

	lock := s.lock(user, videoID)
	lock.Lock()
	defer lock.Unlock()
	for range maxAttempts {
		rec, etag, err := s.store.Record(ctx, user, videoID)
		if err != nil {
			return fmt.Errorf("set like: %w", err)
		}
		if rec.Liked == liked {
			return nil
		}
		err = s.change(ctx, rec, etag, author, liked)
		if errors.Is(err, sidecar.ErrConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("set like: too much contention on user %d, video %d", user, videoID)
}

// change commits the next version of rec, read with etag, and publishes
// its event. The list entry of a like is written first, as an index the
// list checks against the record: an entry whose change did not commit is
// never shown.
func (s *Service) change(ctx context.Context, rec Record, etag string, author int64, liked bool) error {
	prev := rec
	rec.AuthorID, rec.Liked, rec.Version, rec.Pending = author, liked, rec.Version+1, true
	rec.At = s.now().UnixMilli()
	if liked {
		n, err := s.store.Append(ctx, rec.UserID, ListEntry{VideoID: rec.VideoID, Version: rec.Version})
		if err != nil {
			return fmt.Errorf("set like: %w", err)
		}
		rec.Entry = n
	}

	key := recordKey(rec.UserID, rec.VideoID)
	commit, cancel, err := s.outbox.Begin(ctx, key, rec.Version)
	if err != nil {
		return fmt.Errorf("set like: %w", err)
	}
	err = s.store.Save(commit, rec, etag)
	cancel()
	if err != nil {
		return fmt.Errorf("set like: %w", err)
	}

	_, _, ev := rec.OutboxState()
	s.outbox.Finish(ctx, key, rec.Version, ev)
	if prev.Liked {
		// The list skips the entry of a like undone anyway; removing it
		// keeps the pages short, and a failure only leaves it skipped.
		_ = s.store.Remove(ctx, rec.UserID, prev.Entry)
	}
	return nil
}

// author returns the author of a video, or ErrVideoNotFound.
func (s *Service) author(ctx context.Context, videoID int64) (int64, error) {
	a, err := s.videos.Author(ctx, videoID)
	if errors.Is(err, video.ErrNotFound) {
		return 0, ErrVideoNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("look up video: %w", err)
	}
	return a, nil
}

func (s *Service) lock(user, videoID int64) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(recordKey(user, videoID)))
	return &s.locks[h.Sum32()%lockStripes]
}

// Liked returns which of videos user likes.
func (s *Service) Liked(ctx context.Context, user int64, videos []int64) ([]int64, error) {
	if user <= 0 {
		return nil, ErrBadUser
	}
	uniq, err := unique(videos)
	if err != nil {
		return nil, err
	}
	recs, err := s.store.Records(ctx, user, uniq)
	if err != nil {
		return nil, fmt.Errorf("liked videos: %w", err)
	}
	out := make([]int64, 0, len(recs))
	for _, v := range uniq {
		if recs[v].Liked {
			out = append(out, v)
		}
	}
	return out, nil
}

// List returns the videos user likes, most recent like first, at most
// ListLimit of them.
func (s *Service) List(ctx context.Context, user int64) ([]int64, error) {
	if user <= 0 {
		return nil, ErrBadUser
	}
	out := make([]int64, 0, 16)
	seen := map[int64]bool{}
	err := s.store.Walk(ctx, user, func(ctx context.Context, entries []ListEntry) (bool, error) {
		ids := make([]int64, 0, len(entries))
		for _, e := range entries {
			if !seen[e.VideoID] && !slices.Contains(ids, e.VideoID) {
				ids = append(ids, e.VideoID)
			}
		}
		recs, err := s.store.Records(ctx, user, ids)
		if err != nil {
			return false, err
		}
		for _, e := range entries {
			r := recs[e.VideoID]
			if seen[e.VideoID] || !r.Liked || r.Version != e.Version {
				continue
			}
			seen[e.VideoID] = true
			out = append(out, e.VideoID)
			if len(out) == ListLimit {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list likes of %d: %w", user, err)
	}
	return out, nil
}

// Counts returns the like counters of users, one per distinct positive id.
func (s *Service) Counts(ctx context.Context, users []int64) ([]Counts, error) {
	uniq, err := unique(users)
	if err != nil {
		return nil, err
	}
	counts, err := s.store.Counts(ctx, uniq)
	if err != nil {
		return nil, fmt.Errorf("like counts: %w", err)
	}
	return counts, nil
}

// Count applies one like event to the liker's and the author's counters.
// An event that can never count (not a like of a real change) wraps
// events.ErrDrop; any other error means it must be delivered again.
func (s *Service) Count(ctx context.Context, l Like) error {
	if l.UserID <= 0 || l.VideoID <= 0 || l.AuthorID <= 0 || l.Version <= 0 {
		return fmt.Errorf("like event %s is incomplete: %w", l.EventID(), events.ErrDrop)
	}
	return s.store.Count(ctx, l)
}

// unique drops non-positive and repeated ids, keeping the first appearance.
func unique(ids []int64) ([]int64, error) {
	if len(ids) > MaxBatch {
		return nil, ErrBatchTooLarge
	}
	seen := make(map[int64]bool, len(ids))
	uniq := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id > 0 && !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	return uniq, nil
}
