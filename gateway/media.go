package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/services/video"
)

// mediaWindow is the most bytes the gateway asks the video service for in
// one call.
//
// Dapr's sidecar records an app's whole answer to a service invocation in
// memory before passing it on, so a 100 MiB file asked for in one call
// would cost the video service's sidecar a few hundred megabytes for as long
// as it is sent. The gateway therefore answers every media request, whole
// or ranged, by asking for consecutive windows of this size and streaming
// each to the client as it comes: a download costs the sidecar a few
// windows of memory, at the price of one call per window plus one to learn
// the file's size and validators.
const mediaWindow = 4 * video.ChunkSize

// mediaRoutes serves video and cover files (GET and HEAD) under /media with
// Range requests, conditional requests and caching headers.
func (g *Gateway) mediaRoutes(app *fiber.App) {
	app.Get("/media/videos/:file", g.mediaFile("/media/videos/"))
	app.Get("/media/covers/:file", g.mediaFile("/media/covers/"))
}

// relayedHeaders are the headers of the video service's answer the gateway
// passes on.
var relayedHeaders = []string{fiber.HeaderContentType, fiber.HeaderAcceptRanges, fiber.HeaderETag,
	fiber.HeaderLastModified, fiber.HeaderCacheControl}

// mediaFile answers a media request: a HEAD call to the video service tells
// the file's size and validators, and the body, written after the handler
// returns, is read window by window under a context of its own, bounded by
// the upload timeout and cancelled when the write ends.
func (g *Gateway) mediaFile(prefix string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		path := prefix + url.PathEscape(c.Params("file"))
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), g.media.UploadTimeout)
		head, err := g.svc.Videos.Media(ctx, http.MethodHead, path, nil)
		if err != nil {
			cancel()
			return err
		}
		_ = head.Body.Close()
		status := head.StatusCode
		if isEnvelope(head) {
			// A media answer is a file, never JSON: JSON is the video
			// service's refusal, which travels as HTTP 200 (apierr.Kind).
			status = http.StatusNotFound
		}
		if status != http.StatusOK || head.ContentLength < 0 {
			cancel()
			return c.Status(status).JSON(fiber.Map{
				"status_code": status, "status_msg": "no such media file",
			})
		}
		size := head.ContentLength
		etag, modified := head.Header.Get(fiber.HeaderETag), head.Header.Get(fiber.HeaderLastModified)
		for _, k := range relayedHeaders {
			if v := head.Header.Get(k); v != "" {
				c.Set(k, v)
			}
		}

		if video.ETagMatches(c.Get(fiber.HeaderIfNoneMatch), etag) {
			cancel()
			c.Status(fiber.StatusNotModified)
			return nil
		}
		rangeHeader := c.Get(fiber.HeaderRange)
		if ifRange := c.Get(fiber.HeaderIfRange); ifRange != "" && ifRange != etag && ifRange != modified {
			rangeHeader = ""
		}
		first, last, partial, ok := video.ByteRange(rangeHeader, size)
		if !ok {
			cancel()
			c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", size))
			return c.Status(fiber.StatusRequestedRangeNotSatisfiable).JSON(fiber.Map{
				"status_code": fiber.StatusRequestedRangeNotSatisfiable,
				"status_msg":  "requested range lies outside the file",
			})
		}
		if partial {
			c.Status(fiber.StatusPartialContent)
			c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", first, last, size))
		}
		length := last - first + 1
		if c.Method() == fiber.MethodHead || length == 0 {
			cancel()
			c.Response().Header.SetContentLength(int(length))
			return nil
		}
		body := &windows{ctx: ctx, cancel: cancel, videos: g.svc.Videos, path: path,
			pos: first, end: last + 1}
		c.Response().SetBodyStream(body, int(length))
		return nil
	}
}

// isEnvelope reports whether a media answer is a JSON envelope rather than
// a file.
func isEnvelope(resp *http.Response) bool {
	ct := resp.Header.Get(fiber.HeaderContentType)
	return strings.HasPrefix(ct, fiber.MIMEApplicationJSON)
}

var errMediaChanged = apierr.New(apierr.Unavailable, "media file answered out of order")

// windows reads bytes [pos, end) of a media file from the video service, one
// window per call, holding at most one call's answer open.
type windows struct {
	ctx      context.Context
	cancel   context.CancelFunc
	videos   *video.Client
	path     string
	pos, end int64
	cur      io.ReadCloser
}

// Read implements io.Reader.
func (w *windows) Read(p []byte) (int, error) {
	for {
		if w.pos >= w.end {
			return 0, io.EOF
		}
		if w.cur == nil {
			if err := w.open(); err != nil {
				return 0, err
			}
		}
		n, err := w.cur.Read(p[:min(int64(len(p)), w.end-w.pos)])
		w.pos += int64(n)
		if err == io.EOF {
			_ = w.cur.Close()
			w.cur = nil
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// open asks for the window that starts at pos.
func (w *windows) open() error {
	last := min(w.pos+mediaWindow, w.end) - 1
	want := fmt.Sprintf("bytes %d-%d/", w.pos, last)
	resp, err := w.videos.Media(w.ctx, http.MethodGet, w.path,
		http.Header{fiber.HeaderRange: {fmt.Sprintf("bytes=%d-%d", w.pos, last)}})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusPartialContent ||
		!strings.HasPrefix(resp.Header.Get(fiber.HeaderContentRange), want) {
		_ = resp.Body.Close()
		return fmt.Errorf("media window %s%d: status %d, %q: %w", want, w.end,
			resp.StatusCode, resp.Header.Get(fiber.HeaderContentRange), errMediaChanged)
	}
	w.cur = resp.Body
	return nil
}

// Close implements io.Closer. A client that goes away in the middle of a
// window (a player seeking) leaves the window's answer half read; cutting
// it off may crash the sidecar that streams it (dapr/dapr#10371), so the
// rest of the window, at most mediaWindow bytes, is read in the background
// before the call is let go.
func (w *windows) Close() error {
	cur, cancel := w.cur, w.cancel
	w.cur = nil
	go func() {
		defer cancel()
		if cur != nil {
			_, _ = io.Copy(io.Discard, cur)
			_ = cur.Close()
		}
	}()
	return nil
}
