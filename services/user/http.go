package user

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/web"
)

// Request and response bodies of the internal API, described in api.yaml.
type (
	// CredentialsRequest is the body of register and login.
	CredentialsRequest struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	// IDResponse answers register and login.
	IDResponse struct {
		web.Status
		UserID int64 `json:"user_id"`
	}
	// ProfileResponse answers a single lookup.
	ProfileResponse struct {
		web.Status
		User User `json:"user"`
	}
	// BatchRequest asks for many users at once.
	BatchRequest struct {
		IDs []int64 `json:"ids"`
	}
	// BatchResponse lists the users found.
	BatchResponse struct {
		web.Status
		Users []User `json:"users"`
	}
)

var errBadBody = apierr.New(apierr.Invalid, "request body must be a JSON object")

// Routes registers the internal API of the user service on app.
func Routes(app fiber.Router, svc *Service) {
	h := handlers{svc: svc}
	app.Post("/v1/users", h.register)
	app.Post("/v1/login", h.login)
	app.Post("/v1/users/batch", h.batch)
	app.Get("/v1/users/:id", h.get)
}

type handlers struct{ svc *Service }

func (h handlers) register(c *fiber.Ctx) error {
	var req CredentialsRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	id, err := h.svc.Register(c.UserContext(), req.Username, req.Password)
	if err != nil {
		return err
	}
	return c.JSON(IDResponse{Status: web.OK(), UserID: id})
}

func (h handlers) login(c *fiber.Ctx) error {
	var req CredentialsRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	id, err := h.svc.Login(c.UserContext(), req.Username, req.Password)
	if err != nil {
		return err
	}
	return c.JSON(IDResponse{Status: web.OK(), UserID: id})
}

func (h handlers) get(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return apierr.New(apierr.Invalid, "user id must be a positive integer")
	}
	u, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(ProfileResponse{Status: web.OK(), User: u})
}

func (h handlers) batch(c *fiber.Ctx) error {
	var req BatchRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	users, err := h.svc.Batch(c.UserContext(), req.IDs)
	if err != nil {
		return err
	}
	return c.JSON(BatchResponse{Status: web.OK(), Users: users})
}
