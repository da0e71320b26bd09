package comment

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/web"
)

// Request and response bodies of the internal API, described in api.yaml.
type (
	// AddRequest writes a comment.
	AddRequest struct {
		VideoID int64  `json:"video_id"`
		UserID  int64  `json:"user_id"`
		Content string `json:"content"`
	}
	// DeleteRequest deletes a comment on behalf of a user.
	DeleteRequest struct {
		VideoID   int64 `json:"video_id"`
		UserID    int64 `json:"user_id"`
		CommentID int64 `json:"comment_id"`
	}
	// Response answers an addition or a deletion with the comment.
	Response struct {
		web.Status
		Comment Comment `json:"comment"`
	}
	// ListResponse lists a video's comments, newest first.
	ListResponse struct {
		web.Status
		Comments []Comment `json:"comments"`
	}
)

var errBadBody = apierr.New(apierr.Invalid, "request body must be a JSON object")

// Routes registers the internal API of the comment service on app.
func Routes(app fiber.Router, svc *Service) {
	h := handlers{svc: svc}
	app.Post("/v1/comments", h.add)
	app.Post("/v1/comments/delete", h.remove)
	app.Get("/v1/videos/:id/comments", h.list)
}

type handlers struct{ svc *Service }

func (h handlers) add(c *fiber.Ctx) error {
	var req AddRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	cm, err := h.svc.Add(c.UserContext(), req.VideoID, req.UserID, req.Content)
	if err != nil {
		return err
	}
	return c.JSON(Response{Status: web.OK(), Comment: cm})
}

func (h handlers) remove(c *fiber.Ctx) error {
	var req DeleteRequest
	if err := c.BodyParser(&req); err != nil {
		return errBadBody
	}
	cm, err := h.svc.Delete(c.UserContext(), req.VideoID, req.UserID, req.CommentID)
	if err != nil {
		return err
	}
	return c.JSON(Response{Status: web.OK(), Comment: cm})
}

func (h handlers) list(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return ErrBadVideo
	}
	cms, err := h.svc.List(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(ListResponse{Status: web.OK(), Comments: cms})
}
