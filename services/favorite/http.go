package favorite

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/events"
	"github.com/douvo/douvo/internal/platform/web"
)

// Request and response bodies of the internal API, described in api.yaml.
type (
	// SetRequest likes (Liked) or unlikes a video for a user.
	SetRequest struct {
		UserID  int64 `json:"user_id"`
		VideoID int64 `json:"video_id"`
		Liked   bool  `json:"liked"`
	}
	// CheckRequest asks which of many videos a user likes.
	CheckRequest struct {
		UserID   int64   `json:"user_id"`
		VideoIDs []int64 `json:"video_ids"`
	}
	// VideoIDsResponse lists video ids: those liked among the asked ones,
	// or a user's list.
	VideoIDsResponse struct {
		web.Status
		VideoIDs []int64 `json:"video_ids"`
	}
	// CountsRequest asks for the counters of many users.
	CountsRequest struct {
		IDs []int64 `json:"ids"`
	}
	// CountsResponse holds one Counts per distinct positive id asked for.
	CountsResponse struct {
		web.Status
		Counts []Counts `json:"counts"`
	}
)

var errBadBody = apierr.New(apierr.Invalid, "request body must be a JSON object")

// Routes registers the internal API of the like service on app.
func Routes(app fiber.Router, svc *Service) {
	h := handlers{svc: svc}
	app.Post("/v1/likes", h.set)
	app.Post("/v1/likes/check", h.check)
	app.Get("/v1/users/:id/likes", h.list)
	app.Post("/v1/users/counts", h.counts)
}

type handlers struct{ svc *Service }

func (h handlers) set(c *fiber.Ctx) error {
	var req SetRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	if err := h.svc.Set(c.UserContext(), req.UserID, req.VideoID, req.Liked); err != nil {
		return err
	}
	return c.JSON(web.OK())
}

func (h handlers) check(c *fiber.Ctx) error {
	var req CheckRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	ids, err := h.svc.Liked(c.UserContext(), req.UserID, req.VideoIDs)
	if err != nil {
		return err
	}
	return c.JSON(VideoIDsResponse{Status: web.OK(), VideoIDs: ids})
}

func (h handlers) list(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return ErrBadUser
	}
	ids, err := h.svc.List(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(VideoIDsResponse{Status: web.OK(), VideoIDs: ids})
}

func (h handlers) counts(c *fiber.Ctx) error {
	var req CountsRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	counts, err := h.svc.Counts(c.UserContext(), req.IDs)
	if err != nil {
		return err
	}
	return c.JSON(CountsResponse{Status: web.OK(), Counts: counts})
}

// Subscriptions are the events the like service consumes: its own like
// events, for the users' counters, and its outbox's intents (the relay).
//
// A like event that does not decode or lacks an id can never count and is
// dropped to the dead-letter topic; a failure to read or write the counters
// is retried. Retrying is always safe: counters take each change in once.
func Subscriptions(svc *Service, relay events.Subscription) []events.Subscription {
	return []events.Subscription{
		{Topic: Topic, Handler: func(ctx context.Context, m events.Message) error {
			var l Like
			if err := m.Decode(&l); err != nil {
				return err
			}
			if err := svc.Count(ctx, l); err != nil {
				return fmt.Errorf("like event %s: %w", m.ID, err)
			}
			return nil
		}},
		relay,
	}
}
