package gateway

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/web"
	"github.com/douvo/douvo/services/favorite"
	"github.com/douvo/douvo/services/relation"
	"github.com/douvo/douvo/services/user"
)

// User is the client's User object: the profile from the user service and
// the counters and viewer-relative flags from the services that own them.
type User struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	FollowCount     int64  `json:"follow_count"`
	FollowerCount   int64  `json:"follower_count"`
	IsFollow        bool   `json:"is_follow"`
	Avatar          string `json:"avatar"`
	BackgroundImage string `json:"background_image"`
	Signature       string `json:"signature"`
	TotalFavorited  int64  `json:"total_favorited"`
	WorkCount       int64  `json:"work_count"`
	FavoriteCount   int64  `json:"favorite_count"`
}

type authResponse struct {
	web.Status
	UserID int64  `json:"user_id"`
	Token  string `json:"token"`
}

type userResponse struct {
	web.Status
	User User `json:"user"`
}

// keepAuthFields adds to every failure of the handlers after it the keys
// register and login answers carry even on failure, since clients read them
// unconditionally; refusals of the rate limiter included.
func keepAuthFields(c *fiber.Ctx) error {
	if err := c.Next(); err != nil {
		return web.WithFields(err, fiber.Map{"user_id": 0, "token": ""})
	}
	return nil
}

// userRoutes registers the account and profile endpoints.
func (g *Gateway) userRoutes(api fiber.Router, mw chain) {
	route(api, "/user/register/", keepAuthFields, mw.authLimit, g.register)
	route(api, "/user/login/", keepAuthFields, mw.authLimit, g.login)
	route(api, "/user/", mw.optional, mw.perUser, g.userInfo)
}

func (g *Gateway) register(c *fiber.Ctx) error {
	return g.issue(c, g.svc.Users.Register)
}

func (g *Gateway) login(c *fiber.Ctx) error {
	return g.issue(c, g.svc.Users.Login)
}

// issue runs a credential check (register or login) and answers with the
// user id and a fresh token.
func (g *Gateway) issue(c *fiber.Ctx, check func(ctx context.Context, name, password string) (int64, error)) error {
	name, err := requireParam(c, "username")
	if err != nil {
		return err
	}
	password, err := requireParam(c, "password")
	if err != nil {
		return err
	}
	id, err := check(c.UserContext(), name, password)
	if err != nil {
		return err
	}
	token, err := g.tokens.Issue(id)
	if err != nil {
		return err
	}
	return c.JSON(authResponse{Status: web.OK(), UserID: id, Token: token})
}

func (g *Gateway) userInfo(c *fiber.Ctx) error {
	me := viewer(c)
	id := me
	if param(c, "user_id") != "" || id == 0 {
		var err error
		if id, err = idParam(c, "user_id"); err != nil {
			return err
		}
	}
	users, err := g.compose(c.UserContext(), me, []int64{id})
	if err != nil {
		return err
	}
	u, ok := users[id]
	if !ok {
		return user.ErrNotFound
	}
	return c.JSON(userResponse{Status: web.OK(), User: u})
}

// compose resolves ids into client User objects as viewer (0 for an
// anonymous caller) sees them, in a fixed number of service calls whatever
// the number of ids: one batch per service that owns a part of the User (the
// profiles, the works counts, the like counters, the follow counters and
// is_follow), made
// concurrently. Repeated ids are asked for once; unknown ids are left out of
// the map.
func (g *Gateway) compose(ctx context.Context, viewer int64, ids []int64) (map[int64]User, error) {
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		return map[int64]User{}, nil
	}
	var (
		found []user.User
		works map[int64]int64
		likes map[int64]favorite.Counts
		rels  []relation.Relation
	)
	err := concurrently(ctx,
		func(ctx context.Context) (err error) {
			likes, err = g.svc.Favorites.Counts(ctx, ids)
			return err
		},
		func(ctx context.Context) (err error) {
			found, err = g.svc.Users.Batch(ctx, ids)
			return err
		},
		func(ctx context.Context) (err error) {
			works, err = g.svc.Videos.WorkCounts(ctx, ids)
			return err
		},
		func(ctx context.Context) (err error) {
			rels, err = g.svc.Relations.Batch(ctx, viewer, ids)
			return err
		},
	)
	if err != nil {
		return nil, fmt.Errorf("compose users: %w", err)
	}

	byID := make(map[int64]relation.Relation, len(rels))
	for _, r := range rels {
		byID[r.ID] = r
	}
	out := make(map[int64]User, len(found))
	for _, u := range found {
		r := byID[u.ID]
		out[u.ID] = User{ID: u.ID, Name: u.Name, Avatar: u.Avatar,
			BackgroundImage: u.BackgroundImage, Signature: u.Signature,
			WorkCount:   works[u.ID],
			FollowCount: r.FollowCount, FollowerCount: r.FollowerCount, IsFollow: r.IsFollow,
			FavoriteCount: likes[u.ID].FavoriteCount, TotalFavorited: likes[u.ID].TotalFavorited}
	}
	return out, nil
}

// concurrently runs the calls at once and returns the first error, having
// cancelled the others' context.
func concurrently(ctx context.Context, calls ...func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(calls))
	for _, call := range calls {
		go func() { errs <- call(ctx) }()
	}
	var first error
	for range calls {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// uniqueIDs returns ids without repetitions, in the order of first
// appearance.
func uniqueIDs(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
