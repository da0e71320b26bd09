package message

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
	// LeaseResponse answers an id lease: ids First to First+Count-1 are the
	// caller's to give to messages.
	LeaseResponse struct {
		web.Status
		First int64 `json:"first_id"`
		Count int   `json:"count"`
	}
	// SendResponse answers a send with the sender's copy.
	SendResponse struct {
		web.Status
		Message Message `json:"message"`
	}
	// HistoryResponse lists messages oldest first.
	HistoryResponse struct {
		web.Status
		Messages []Message `json:"messages"`
	}
	// LatestRequest asks for the newest message with each of PeerIDs.
	LatestRequest struct {
		PeerIDs []int64 `json:"peer_ids"`
	}
	// LatestResponse has one entry per peer with a conversation.
	LatestResponse struct {
		web.Status
		Latest []Latest `json:"latest"`
	}
)

var errBadBody = apierr.New(apierr.Invalid, "request body must be a JSON object")

// Routes registers the internal API of the message service on app.
func Routes(app fiber.Router, svc *Service) {
	h := handlers{svc: svc}
	app.Post("/v1/message-ids", h.lease)
	app.Post("/v1/messages", h.send)
	app.Get("/v1/users/:id/chats/:peer", h.history)
	app.Post("/v1/users/:id/latest", h.latest)
}

type handlers struct{ svc *Service }

func (h handlers) lease(c *fiber.Ctx) error {
	first, err := h.svc.LeaseIDs(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(LeaseResponse{Status: web.OK(), First: first, Count: IDBlock})
}

func (h handlers) send(c *fiber.Ctx) error {
	var req SendRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	m, err := h.svc.Send(c.UserContext(), req)
	if err != nil {
		return err
	}
	return c.JSON(SendResponse{Status: web.OK(), Message: m})
}

func (h handlers) history(c *fiber.Ctx) error {
	viewer, err := pathID(c, "id")
	if err != nil {
		return err
	}
	peer, err := pathID(c, "peer")
	if err != nil {
		return err
	}
	var after int64
	if raw := c.Query("after"); raw != "" {
		if after, err = strconv.ParseInt(raw, 10, 64); err != nil {
			return apierr.New(apierr.Invalid, "after must be a Unix time in milliseconds")
		}
	}
	msgs, err := h.svc.History(c.UserContext(), viewer, peer, after)
	if err != nil {
		return err
	}
	return c.JSON(HistoryResponse{Status: web.OK(), Messages: msgs})
}

func (h handlers) latest(c *fiber.Ctx) error {
	viewer, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req LatestRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	latest, err := h.svc.Latest(c.UserContext(), viewer, req.PeerIDs)
	if err != nil {
		return err
	}
	return c.JSON(LatestResponse{Status: web.OK(), Latest: latest})
}

func pathID(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrBadUserID
	}
	return id, nil
}

// Subscriptions are the events the message service consumes: every sent
// message, stored again for both users so that a send whose storing failed
// still completes. A malformed event is dropped to the dead letters; a
// failure to store is retried.
func Subscriptions(svc *Service) []events.Subscription {
	return []events.Subscription{{
		Topic: Topic,
		Handler: func(ctx context.Context, msg events.Message) error {
			var m Message
			if err := msg.Decode(&m); err != nil {
				return err
			}
			if err := validMessage(m); err != nil {
				return fmt.Errorf("message event %s: %w: %w", msg.ID, events.ErrDrop, err)
			}
			return svc.Deliver(ctx, m)
		},
	}}
}
