package relation

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/web"
)

// Request and response bodies of the internal API, described in api.yaml.
type (
	// OutcomeResponse answers a follow or an unfollow.
	OutcomeResponse struct {
		web.Status
		Outcome
	}
	// PageResponse answers a list read.
	PageResponse struct {
		web.Status
		Page
	}
	// BatchRequest asks for the relations of a viewer to many users.
	BatchRequest struct {
		// Viewer is the user asking, 0 for an anonymous viewer.
		Viewer int64   `json:"viewer"`
		IDs    []int64 `json:"ids"`
	}
	// BatchResponse lists one relation per requested id, in order.
	BatchResponse struct {
		web.Status
		Relations []Relation `json:"relations"`
	}
)

var errBadBody = apierr.New(apierr.Invalid, "request body must be a JSON object")

// Routes registers the internal API of the relation service on app.
func Routes(app fiber.Router, svc *Service) {
	h := handlers{svc: svc}
	app.Put("/v1/users/:id/following/:target", h.follow)
	app.Delete("/v1/users/:id/following/:target", h.unfollow)
	app.Get("/v1/users/:id/:list", h.list)
	app.Post("/v1/relations/batch", h.batch)
}

type handlers struct{ svc *Service }

func (h handlers) follow(c *fiber.Ctx) error {
	return h.change(c, h.svc.Follow)
}

func (h handlers) unfollow(c *fiber.Ctx) error {
	return h.change(c, h.svc.Unfollow)
}

// change runs a follow or an unfollow of :target by :id.
func (h handlers) change(c *fiber.Ctx, do func(ctx context.Context, a, b int64) (Outcome, error)) error {
	a, err := pathID(c, "id")
	if err != nil {
		return err
	}
	b, err := pathID(c, "target")
	if err != nil {
		return err
	}
	out, err := do(c.UserContext(), a, b)
	if err != nil {
		return err
	}
	return c.JSON(OutcomeResponse{Status: web.OK(), Outcome: out})
}

func (h handlers) list(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	// An absent limit means the default; a present one must be in range.
	limit := 0
	if raw := c.Query("limit"); raw != "" {
		if limit, err = strconv.Atoi(raw); err != nil || limit < 1 {
			return ErrBadLimit
		}
	}
	page, err := h.svc.List(c.UserContext(), id, List(c.Params("list")), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	if page.IDs == nil {
		page.IDs = []int64{}
	}
	return c.JSON(PageResponse{Status: web.OK(), Page: page})
}

func (h handlers) batch(c *fiber.Ctx) error {
	var req BatchRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	rels, err := h.svc.Relations(c.UserContext(), req.Viewer, req.IDs)
	if err != nil {
		return err
	}
	return c.JSON(BatchResponse{Status: web.OK(), Relations: rels})
}

// pathID parses a user id path parameter.
func pathID(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrBadID
	}
	return id, nil
}
