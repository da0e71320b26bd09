package comment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/douvo/douvo/internal/platform/outbox"
	"github.com/douvo/douvo/internal/platform/pagelog"
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

// Service implements the comment service's business rules over a Store.
type Service struct {
	store  Store
	videos Videos
	outbox Outbox
	now    func() time.Time
}

// NewService returns a Service on store that checks videos with videos and
// publishes through ob.
func NewService(store Store, videos Videos, ob Outbox) *Service {
	return &Service{store: store, videos: videos, outbox: ob, now: time.Now}
}

// Add writes a comment of user on a video and returns it once it is
// committed: the next list of the video shows it. The text is trimmed and
// must be 1 to MaxContentLen characters.
func (s *Service) Add(ctx context.Context, videoID, user int64, text string) (Comment, error) {
	if user <= 0 {
		return Comment{}, ErrBadUser
	}
	if videoID <= 0 {
		return Comment{}, ErrBadVideo
	}
	content, err := NormalizeContent(text)
	if err != nil {
		return Comment{}, err
	}
	author, err := s.author(ctx, videoID)
	if err != nil {
		return Comment{}, err
	}

	id, err := s.store.NextID(ctx)
	if err != nil {
		return Comment{}, fmt.Errorf("add comment: %w", err)
	}
	// The list entry comes first, as an index the list checks against the
	// records: an entry whose comment was never written is never shown.
	n, err := s.store.Append(ctx, videoID, id)
	if err != nil {
		return Comment{}, fmt.Errorf("add comment: %w", err)
	}
	now := s.now().UnixMilli()
	rec := Record{ID: id, VideoID: videoID, UserID: user, Content: content, VideoAuthor: author,
		CreatedAt: now, Version: 1, At: now, Entry: n, Pending: true}
	if err := s.commit(ctx, rec, ""); err != nil {
		// A write reported failed may have landed (its answer was lost):
		// then the comment is there, and the relay publishes its event.
		if got, _, ok, readErr := s.store.Record(ctx, id); readErr == nil && ok && got.Entry == n {
			return got.Comment(), nil
		}
		return Comment{}, fmt.Errorf("add comment: %w", err)
	}
	return rec.Comment(), nil
}

// Delete deletes a comment on a video on behalf of user, who must be the
// comment's author or the video's author, and returns it. A comment
// already deleted is not found.
func (s *Service) Delete(ctx context.Context, videoID, user, id int64) (Comment, error) {
	switch {
	case user <= 0:
		return Comment{}, ErrBadUser
	case videoID <= 0:
		return Comment{}, ErrBadVideo
	case id <= 0:
		return Comment{}, ErrBadComment
	}
	for range maxAttempts {
		rec, etag, ok, err := s.store.Record(ctx, id)
		if err != nil {
			return Comment{}, fmt.Errorf("delete comment: %w", err)
		}
		if !ok || rec.Deleted || rec.VideoID != videoID {
			return Comment{}, s.notFound(ctx, videoID)
		}
		if user != rec.UserID && user != rec.VideoAuthor {
			return Comment{}, ErrForbidden
		}
		next := rec
		next.Deleted, next.Version, next.At, next.Pending = true, rec.Version+1, s.now().UnixMilli(), true
		err = s.commit(ctx, next, etag)
		if errors.Is(err, sidecar.ErrConflict) {
			continue
		}
		if err != nil {
			return Comment{}, fmt.Errorf("delete comment: %w", err)
		}
		// The list skips deleted comments anyway; removing the entry keeps
		// the pages short, and a failure only leaves it skipped.
		_ = s.store.Remove(ctx, videoID, rec.Entry)
		return rec.Comment(), nil
	}
	return Comment{}, fmt.Errorf("delete comment %d: too much contention", id)
}

// commit writes rec, read with etag (empty for a new comment), through the
// outbox, and publishes its event.
func (s *Service) commit(ctx context.Context, rec Record, etag string) error {
	key := recordKey(rec.ID)
	write, cancel, err := s.outbox.Begin(ctx, key, rec.Version)
	if err != nil {
		return err
	}
	err = s.store.Save(write, rec, etag)
	cancel()
	if err != nil {
		return err
	}
	_, _, ev := rec.OutboxState()
	s.outbox.Finish(ctx, key, rec.Version, ev)
	return nil
}

// notFound is the error for a comment not found on a video: the video's,
// when the video does not exist either.
func (s *Service) notFound(ctx context.Context, videoID int64) error {
	if _, err := s.author(ctx, videoID); err != nil {
		return err
	}
	return ErrNotFound
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

// List returns the comments on a video, newest first, at most ListLimit of
// them, or ErrVideoNotFound.
func (s *Service) List(ctx context.Context, videoID int64) ([]Comment, error) {
	if videoID <= 0 {
		return nil, ErrBadVideo
	}
	out := make([]Comment, 0, 16)
	err := s.store.Walk(ctx, videoID, func(ctx context.Context, entries []pagelog.Entry[int64]) (bool, error) {
		ids := make([]int64, 0, len(entries))
		for _, e := range entries {
			ids = append(ids, e.V)
		}
		recs, err := s.store.Records(ctx, ids)
		if err != nil {
			return false, err
		}
		for _, e := range entries {
			// An entry is the comment's only when the record names it: an
			// append retried after its write landed leaves a second one.
			r, ok := recs[e.V]
			if !ok || r.Deleted || r.VideoID != videoID || r.Entry != e.N {
				continue
			}
			out = append(out, r.Comment())
			if len(out) == ListLimit {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list comments on %d: %w", videoID, err)
	}
	if len(out) == 0 {
		if _, err := s.author(ctx, videoID); err != nil {
			return nil, err
		}
	}
	return out, nil
}
