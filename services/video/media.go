package video

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// cacheControl lets players, browsers and CDNs keep media for a year: a
// media path is tied to one video id, which is never reused, so its bytes
// never change.
const cacheControl = "public, max-age=31536000, immutable"

// Media serves the video and cover files, with HTTP Range requests (206
// Partial Content) so that players can seek, and validators (ETag,
// Last-Modified) for caches.
//
// Blob storage is reached only through the binding's whole-object get, so
// the service cannot ask the store for a byte range. Rather than read a
// whole file of tens of megabytes for each range a player asks for, or keep
// files in a cache of its own, the service stores each video in chunks of
// ChunkSize bytes and answers a range by fetching only the chunks it
// overlaps, one at a time as the answer is written. A seek costs one or two
// chunk reads and at most a chunk of memory per request in flight. The
// price: a video is many objects in the store rather than one file that a
// CDN could serve straight from a bucket, and a whole-file read makes one
// store call per chunk.
//
// Dapr's sidecar holds an app's whole answer to a service invocation in
// memory before passing it on, so callers should ask for bounded ranges
// rather than whole large files; the gateway asks for windows of a few
// chunks.
type Media struct {
	svc     *Service
	blobs   Blobs
	timeout time.Duration
}

// NewMedia returns Media reading files from blobs; timeout bounds the
// writing of one answer.
func NewMedia(svc *Service, blobs Blobs, timeout time.Duration) *Media {
	return &Media{svc: svc, blobs: blobs, timeout: timeout}
}

// object is a stored file as Media serves it.
type object struct {
	size        int64
	chunk       int64
	key         func(n int64) string
	contentType string
	etag        string
	modified    string
}

// Video serves /v1/media/videos/<id>.<format>.
func (m *Media) Video(c *fiber.Ctx) error {
	rec, ext, err := m.record(c)
	if err != nil {
		return err
	}
	if ext != string(rec.Format) {
		return ErrNotFound
	}
	return m.serve(c, object{
		size: rec.Size, chunk: rec.ChunkSize, contentType: rec.Format.ContentType(),
		key:      func(n int64) string { return chunkKey(rec.Blob, n) },
		etag:     `"` + rec.Blob + `"`,
		modified: lastModified(rec),
	})
}

// Cover serves /v1/media/covers/<id>.jpg.
func (m *Media) Cover(c *fiber.Ctx) error {
	rec, ext, err := m.record(c)
	if err != nil {
		return err
	}
	if ext != "jpg" {
		return ErrNotFound
	}
	return m.serve(c, object{
		size: rec.CoverSize, chunk: max(rec.CoverSize, 1), contentType: "image/jpeg",
		key:      func(int64) string { return coverKey(rec.Blob) },
		etag:     `"` + rec.Blob + `-cover"`,
		modified: lastModified(rec),
	})
}

func lastModified(rec Record) string {
	return time.UnixMilli(rec.CreatedAt).UTC().Format(http.TimeFormat)
}

// record resolves the file name <id>.<ext> of the path to its video.
func (m *Media) record(c *fiber.Ctx) (Record, string, error) {
	name, ext, ok := strings.Cut(c.Params("file"), ".")
	id, err := strconv.ParseInt(name, 10, 64)
	if !ok || err != nil || id <= 0 {
		return Record{}, "", ErrNotFound
	}
	rec, err := m.svc.Record(c.UserContext(), id)
	if err != nil {
		return Record{}, "", err
	}
	return rec, ext, nil
}

// serve answers with the object, whole or the requested range. The body is
// read from blob storage while it is written, after the handler returns, so
// it gets a context of its own, bounded by the media timeout and cancelled
// when the write ends.
func (m *Media) serve(c *fiber.Ctx, obj object) error {
	h := &c.Response().Header
	h.Set(fiber.HeaderAcceptRanges, "bytes")
	h.Set(fiber.HeaderETag, obj.etag)
	h.Set(fiber.HeaderLastModified, obj.modified)
	h.Set(fiber.HeaderCacheControl, cacheControl)

	if ETagMatches(c.Get(fiber.HeaderIfNoneMatch), obj.etag) {
		c.Status(fiber.StatusNotModified)
		return nil
	}
	rangeHeader := c.Get(fiber.HeaderRange)
	if ifRange := c.Get(fiber.HeaderIfRange); ifRange != "" && ifRange != obj.etag && ifRange != obj.modified {
		rangeHeader = ""
	}
	first, last, partial, ok := ByteRange(rangeHeader, obj.size)
	if !ok {
		h.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", obj.size))
		return c.Status(fiber.StatusRequestedRangeNotSatisfiable).JSON(fiber.Map{
			"status_code": int32(fiber.StatusRequestedRangeNotSatisfiable),
			"status_msg":  "requested range lies outside the file",
		})
	}
	if partial {
		c.Status(fiber.StatusPartialContent)
		h.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", first, last, obj.size))
	}
	h.SetContentType(obj.contentType)
	length := last - first + 1
	if c.Method() == fiber.MethodHead {
		h.SetContentLength(int(length))
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), m.timeout)
	body := newRangeReader(ctx, cancel, m.blobs, obj.key, obj.chunk, first, last+1)
	c.Response().SetBodyStream(body, int(length))
	return nil
}

// ETagMatches reports whether an If-None-Match header lists etag (or *).
func ETagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// ByteRange interprets a Range header for an object of size bytes, as RFC
// 9110 section 14 says: it returns the first and last byte to send and
// whether that is a part of the object. A missing, malformed or
// multi-range header gets the whole object; ok is false for a range that
// lies outside it (416).
func ByteRange(header string, size int64) (first, last int64, partial, ok bool) {
	whole := func() (int64, int64, bool, bool) { return 0, size - 1, false, true }
	spec, found := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return whole()
	}
	from, to, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return whole()
	}
	if from == "" {
		n, err := strconv.ParseInt(to, 10, 64)
		switch {
		case err != nil || n < 0:
			return whole()
		case n == 0 || size == 0:
			return 0, 0, false, false
		}
		return max(0, size-n), size - 1, true, true
	}
	a, err := strconv.ParseInt(from, 10, 64)
	if err != nil || a < 0 {
		return whole()
	}
	b := size - 1
	if to != "" {
		if b, err = strconv.ParseInt(to, 10, 64); err != nil || b < a {
			return whole()
		}
	}
	if a >= size {
		return 0, 0, false, false
	}
	return a, min(b, size-1), true, true
}
