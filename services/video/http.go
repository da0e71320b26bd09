package video

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/events"
	"github.com/douvo/douvo/internal/platform/web"
)

// Request and response bodies of the internal API, described in api.yaml.
type (
	// PublishResponse answers a publish.
	PublishResponse struct {
		web.Status
		Video Video `json:"video"`
	}
	// VideosResponse answers the feed, a batch lookup and an author's list.
	VideosResponse struct {
		web.Status
		Videos []Video `json:"videos"`
	}
	// BatchRequest asks for many videos, or many authors' work counts, at
	// once.
	BatchRequest struct {
		IDs []int64 `json:"ids"`
	}
	// WorkCount is how many videos one author has published.
	WorkCount struct {
		AuthorID int64 `json:"author_id"`
		Works    int64 `json:"works"`
	}
	// WorkCountsResponse answers a batch of work counts, one per distinct
	// positive id asked for.
	WorkCountsResponse struct {
		web.Status
		Counts []WorkCount `json:"counts"`
	}
)

var (
	errBadBody = apierr.New(apierr.Invalid, "request body must be a JSON object")
	errBadSize = apierr.New(apierr.Invalid, "size must be the file's length in bytes")
)

// publishPath is the upload route, whose body is streamed.
const publishPath = "/v1/videos"

// Streamed selects the requests whose bodies the service reads as a stream:
// uploads.
func Streamed(c *fiber.Ctx) bool {
	return c.Method() == fiber.MethodPost && strings.TrimSuffix(c.Path(), "/") == publishPath
}

// Routes registers the internal API of the video service on app. The app
// must stream the bodies Streamed selects.
func Routes(app fiber.Router, svc *Service, media *Media) {
	h := handlers{svc: svc}
	app.Post(publishPath, h.publish)
	app.Get("/v1/feed", h.feed)
	app.Post("/v1/videos/batch", h.batch)
	app.Get("/v1/authors/:id/videos", h.byAuthor)
	app.Post("/v1/authors/works", h.works)
	app.Get("/v1/media/videos/:file", media.Video)
	app.Get("/v1/media/covers/:file", media.Cover)
}

type handlers struct{ svc *Service }

// publish takes the author, title and file size from the query and the
// video file, as is, from the body.
func (h handlers) publish(c *fiber.Ctx) error {
	author, err := strconv.ParseInt(c.Query("author_id"), 10, 64)
	if err != nil || author <= 0 {
		return ErrAuthorInvalid
	}
	size, err := strconv.ParseInt(c.Query("size"), 10, 64)
	if err != nil || size < 0 {
		return errBadSize
	}
	body := web.StreamBody(c)
	if body == nil {
		return ErrEmptyFile
	}
	defer body.Finish(64 << 10)
	v, err := h.svc.Publish(c.UserContext(), author, c.Query("title"), body, size)
	if err != nil {
		return err
	}
	return c.JSON(PublishResponse{Status: web.OK(), Video: v})
}

func (h handlers) feed(c *fiber.Ctx) error {
	before, err := queryInt(c, "before", 0)
	if err != nil {
		return ErrBadTime
	}
	limit, err := queryInt(c, "limit", FeedPage)
	if err != nil {
		return apierr.New(apierr.Invalid, "limit must be an integer")
	}
	vs, err := h.svc.Feed(c.UserContext(), before, int(limit))
	if err != nil {
		return err
	}
	return c.JSON(VideosResponse{Status: web.OK(), Videos: vs})
}

func (h handlers) batch(c *fiber.Ctx) error {
	var req BatchRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	vs, err := h.svc.Batch(c.UserContext(), req.IDs)
	if err != nil {
		return err
	}
	return c.JSON(VideosResponse{Status: web.OK(), Videos: vs})
}

func (h handlers) byAuthor(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return ErrAuthorInvalid
	}
	vs, err := h.svc.ByAuthor(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(VideosResponse{Status: web.OK(), Videos: vs})
}

func (h handlers) works(c *fiber.Ctx) error {
	var req BatchRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	counts, err := h.svc.WorkCounts(c.UserContext(), req.IDs)
	if err != nil {
		return err
	}
	out := make([]WorkCount, 0, len(counts))
	for _, id := range req.IDs {
		if n, ok := counts[id]; ok {
			out = append(out, WorkCount{AuthorID: id, Works: n})
			delete(counts, id)
		}
	}
	return c.JSON(WorkCountsResponse{Status: web.OK(), Counts: out})
}

// queryInt reads an optional integer query parameter.
func queryInt(c *fiber.Ctx, name string, def int64) (int64, error) {
	raw := c.Query(name)
	if raw == "" {
		return def, nil
	}
	return strconv.ParseInt(raw, 10, 64)
}

// Subscriptions are the events the video service consumes: likes and
// comments, for its counters.
//
// An event that does not decode, lacks an id or names an unknown video can
// never count and is dropped to the dead-letter topic; a failure to read or
// write the counters is retried. Retrying is always safe: the counters take
// each version of a like or comment in once.
func Subscriptions(svc *Service) []events.Subscription {
	return []events.Subscription{
		{Topic: LikeTopic, Handler: func(ctx context.Context, m events.Message) error {
			var ev LikeEvent
			if err := m.Decode(&ev); err != nil {
				return err
			}
			if err := svc.CountLike(ctx, ev); err != nil {
				return fmt.Errorf("like event %s: %w", m.ID, err)
			}
			return nil
		}},
		{Topic: CommentTopic, Handler: func(ctx context.Context, m events.Message) error {
			var ev CommentEvent
			if err := m.Decode(&ev); err != nil {
				return err
			}
			if err := svc.CountComment(ctx, ev); err != nil {
				return fmt.Errorf("comment event %s: %w", m.ID, err)
			}
			return nil
		}},
	}
}
