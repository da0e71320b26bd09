package gateway

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/web"
	"github.com/douvo/douvo/services/user"
)

// Action types of the like and comment actions.
const (
	actionDo   = "1"
	actionUndo = "2"
)

var errBadFavoriteAction = apierr.New(apierr.Invalid, "action_type must be 1 (like) or 2 (unlike)")

// favoriteRoutes registers the like endpoints.
func (g *Gateway) favoriteRoutes(api fiber.Router, mw chain) {
	route(api, "/favorite/action/", mw.required, mw.perUser, g.favoriteAction)
	route(api, "/favorite/list/", mw.optional, mw.perUser, g.favoriteList)
}

// favoriteAction likes (action_type 1) or unlikes (2) video_id for the
// caller. Both are idempotent; the answer comes once the change is
// committed, and the counters follow shortly.
func (g *Gateway) favoriteAction(c *fiber.Ctx) error {
	videoID, err := idParam(c, "video_id")
	if err != nil {
		return err
	}
	action, err := requireParam(c, "action_type")
	if err != nil {
		return err
	}
	var liked bool
	switch strings.TrimSpace(action) {
	case actionDo:
		liked = true
	case actionUndo:
		liked = false
	default:
		return errBadFavoriteAction
	}
	if err := g.svc.Favorites.Set(c.UserContext(), viewer(c), videoID, liked); err != nil {
		return err
	}
	return c.JSON(web.OK())
}

// favoriteList answers the videos user_id (the caller when absent) likes,
// most recent like first, as the caller sees them.
func (g *Gateway) favoriteList(c *fiber.Ctx) error {
	id := viewer(c)
	if param(c, "user_id") != "" || id == 0 {
		var err error
		if id, err = idParam(c, "user_id"); err != nil {
			return err
		}
	}
	ctx := c.UserContext()
	ids, err := g.svc.Favorites.List(ctx, id)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		found, err := g.svc.Users.Batch(ctx, []int64{id})
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return user.ErrNotFound
		}
	}
	vs, err := g.svc.Videos.Batch(ctx, ids)
	if err != nil {
		return err
	}
	list, err := g.composeVideos(ctx, viewer(c), g.baseURL(c), vs)
	if err != nil {
		return err
	}
	return c.JSON(videoListResponse{Status: web.OK(), VideoList: list})
}
