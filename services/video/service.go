package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/douvo/douvo/internal/platform/events"
)

// Coverer makes the cover image of a video file; Covers is the real one.
type Coverer interface {
	// Cover returns a JPEG cover for the video file at path, or
	// ErrUndecodable when the file is not a playable video.
	Cover(ctx context.Context, path, seed string) ([]byte, error)
}

// Config holds the service's limits and scratch space.
type Config struct {
	// MaxUpload is the largest accepted video file, in bytes.
	MaxUpload int64
	// SpoolDir holds uploads while they are checked; empty means the
	// system's temporary folder.
	SpoolDir string
	// CleanupTimeout bounds the removal of the files of a failed publish.
	CleanupTimeout time.Duration
}

// Service implements the video service's business rules over a Store and
// Blobs.
type Service struct {
	store  Store
	blobs  Blobs
	covers Coverer
	cfg    Config
	now    func() time.Time
}

// NewService returns a Service.
func NewService(store Store, blobs Blobs, covers Coverer, cfg Config) *Service {
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.CleanupTimeout <= 0 {
		cfg.CleanupTimeout = 30 * time.Second
	}
	return &Service{store: store, blobs: blobs, covers: covers, cfg: cfg, now: time.Now}
}

// Publish stores the video file of size bytes read from body under title
// for author and returns the published video, which the feed and the
// author's list show from then on. It reads the file once, to a scratch
// file on disk, checking its format by content and its size on the way, and
// refuses a file that does not arrive whole (a stream cut off on its way
// through the mesh may look like a shorter file); then it takes the cover,
// writes the file in chunks and the cover to blob storage, and commits the
// record. Nothing is stored when any step fails: blobs already written are
// deleted.
func (s *Service) Publish(ctx context.Context, author int64, title string, body io.Reader,
	size int64,
) (Video, error) {
	if author <= 0 {
		return Video{}, ErrAuthorInvalid
	}
	title, err := NormalizeTitle(title)
	if err != nil {
		return Video{}, err
	}
	if size > s.cfg.MaxUpload {
		return Video{}, TooLarge(s.cfg.MaxUpload)
	}

	f, format, got, err := s.spool(body)
	if err != nil {
		return Video{}, err
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}()
	if got != size {
		return Video{}, ErrCutOff
	}

	cover, err := s.covers.Cover(ctx, f.Name(), title)
	if err != nil {
		return Video{}, fmt.Errorf("publish: %w", err)
	}
	blob, err := newBlobID()
	if err != nil {
		return Video{}, fmt.Errorf("publish: %w", err)
	}
	rec := Record{AuthorID: author, Title: title, Format: format, Blob: blob, Size: size,
		ChunkSize: ChunkSize, CoverSize: int64(len(cover))}

	written, err := s.upload(ctx, f, rec, cover)
	if err != nil {
		// The write that failed may have landed all the same.
		return Video{}, s.discard(ctx, rec, written, written+1, fmt.Errorf("publish: %w", err))
	}
	stored, err := s.store.Create(ctx, rec, s.now().UnixMilli())
	if err != nil {
		return Video{}, s.discard(ctx, rec, written, written, fmt.Errorf("publish: %w", err))
	}
	return stored.Video(), nil
}

// spool copies body to a scratch file, refusing it as soon as its first
// bytes show it is not a supported video or it grows past the limit.
func (s *Service) spool(body io.Reader) (*os.File, Format, int64, error) {
	head := make([]byte, SniffLen)
	n, err := io.ReadFull(body, head)
	switch {
	case errors.Is(err, io.EOF):
		return nil, "", 0, ErrEmptyFile
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return nil, "", 0, fmt.Errorf("%w: %w", ErrCutOff, err)
	}
	format, ok := Sniff(head[:n])
	if !ok {
		return nil, "", 0, ErrNotVideo
	}

	f, err := os.CreateTemp(s.cfg.SpoolDir, "upload-*")
	if err != nil {
		return nil, "", 0, fmt.Errorf("spool upload: %w", err)
	}
	fail := func(err error) (*os.File, Format, int64, error) {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, "", 0, err
	}
	if _, err := f.Write(head[:n]); err != nil {
		return fail(fmt.Errorf("spool upload: %w", err))
	}
	rest, err := io.Copy(f, io.LimitReader(body, s.cfg.MaxUpload-int64(n)+1))
	size := int64(n) + rest
	switch {
	case err != nil:
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fail(fmt.Errorf("spool upload: %w", err))
		}
		return fail(fmt.Errorf("%w: %w", ErrCutOff, err))
	case size > s.cfg.MaxUpload:
		return fail(TooLarge(s.cfg.MaxUpload))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("spool upload: %w", err))
	}
	return f, format, size, nil
}

// upload writes the file in chunks, then the cover, one chunk in memory at
// a time. It returns how many chunks it wrote, for discard.
func (s *Service) upload(ctx context.Context, f io.Reader, rec Record, cover []byte) (int64, error) {
	buf := make([]byte, rec.ChunkSize)
	var n int64
	for {
		k, err := io.ReadFull(f, buf)
		if k > 0 {
			if err := s.blobs.Put(ctx, chunkKey(rec.Blob, n), buf[:k]); err != nil {
				return n, err
			}
			n++
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("read spooled upload: %w", err)
		}
	}
	if err := s.blobs.Put(ctx, coverKey(rec.Blob), cover); err != nil {
		return n, err
	}
	return n, nil
}

// discard deletes the blobs of a failed publish, even when ctx is done, and
// returns cause together with any failure to delete. The first written
// chunks are known to exist; the chunks up to tried and the cover may not,
// and failures to delete them are not reported.
func (s *Service) discard(ctx context.Context, rec Record, written, tried int64, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CleanupTimeout)
	defer cancel()
	errs := []error{cause}
	_ = s.blobs.Delete(ctx, coverKey(rec.Blob))
	for n := range tried {
		if err := s.blobs.Delete(ctx, chunkKey(rec.Blob, n)); err != nil && n < written {
			errs = append(errs, fmt.Errorf("discard failed upload: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Feed returns at most limit videos published strictly before beforeMS
// (any time when it is zero), newest first.
func (s *Service) Feed(ctx context.Context, beforeMS int64, limit int) ([]Video, error) {
	if beforeMS < 0 {
		return nil, fmt.Errorf("feed: %w", ErrBadTime)
	}
	limit = min(max(limit, 1), FeedPage)
	start, err := s.store.Newest(ctx, beforeMS)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	ids := make([]int64, 0, limit)
	for id := start; id > 0 && len(ids) < limit; id-- {
		ids = append(ids, id)
	}
	recs, err := s.store.Records(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	return videos(recs), nil
}

// Batch returns the videos among ids that exist, once each, in the order of
// their first appearance in ids.
func (s *Service) Batch(ctx context.Context, ids []int64) ([]Video, error) {
	uniq, err := unique(ids)
	if err != nil {
		return nil, err
	}
	recs, err := s.store.Records(ctx, uniq)
	if err != nil {
		return nil, fmt.Errorf("batch videos: %w", err)
	}
	return videos(recs), nil
}

// ByAuthor returns an author's newest videos, newest first, at most
// ListLimit of them.
func (s *Service) ByAuthor(ctx context.Context, author int64) ([]Video, error) {
	if author <= 0 {
		return nil, ErrAuthorInvalid
	}
	ids, err := s.store.ByAuthor(ctx, author, ListLimit)
	if err != nil {
		return nil, fmt.Errorf("author's videos: %w", err)
	}
	recs, err := s.store.Records(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("author's videos: %w", err)
	}
	return videos(recs), nil
}

// WorkCounts returns how many videos each author has published, zero for
// those without any.
func (s *Service) WorkCounts(ctx context.Context, authors []int64) (map[int64]int64, error) {
	uniq, err := unique(authors)
	if err != nil {
		return nil, err
	}
	counts, err := s.store.WorkCounts(ctx, uniq)
	if err != nil {
		return nil, fmt.Errorf("work counts: %w", err)
	}
	for _, id := range uniq {
		if _, ok := counts[id]; !ok {
			counts[id] = 0
		}
	}
	return counts, nil
}

// Record returns one video's stored record, or ErrNotFound.
func (s *Service) Record(ctx context.Context, id int64) (Record, error) {
	recs, err := s.store.Records(ctx, []int64{id})
	if err != nil {
		return Record{}, fmt.Errorf("read video: %w", err)
	}
	if len(recs) == 0 {
		return Record{}, ErrNotFound
	}
	return recs[0], nil
}

// unique drops non-positive and repeated ids, keeping the first appearance.
func unique(ids []int64) ([]int64, error) {
	if len(ids) > MaxBatch {
		return nil, ErrBatchTooLarge
	}
	uniq := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id > 0 && !slices.Contains(uniq, id) {
			uniq = append(uniq, id)
		}
	}
	return uniq, nil
}

func videos(recs []Record) []Video {
	out := make([]Video, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Video())
	}
	return out
}

// CountLike applies a like event to its video's favorite_count. An event
// that can never count (incomplete, or about an unknown video) wraps
// events.ErrDrop; any other error means it must be delivered again.
func (s *Service) CountLike(ctx context.Context, ev LikeEvent) error {
	if ev.UserID <= 0 || ev.VideoID <= 0 || ev.Version <= 0 {
		return fmt.Errorf("like event is incomplete: %w", events.ErrDrop)
	}
	return dropIfUnknown(s.store.CountLike(ctx, ev))
}

// CountComment applies a comment event to its video's comment_count, as
// CountLike does.
func (s *Service) CountComment(ctx context.Context, ev CommentEvent) error {
	if ev.CommentID <= 0 || ev.VideoID <= 0 || ev.Version <= 0 {
		return fmt.Errorf("comment event is incomplete: %w", events.ErrDrop)
	}
	return dropIfUnknown(s.store.CountComment(ctx, ev))
}

// dropIfUnknown marks an event about a video that does not exist as one to
// drop: no delivery can ever count it.
func dropIfUnknown(err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", events.ErrDrop, err)
	}
	return err
}
