package gateway

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/web"
	"github.com/douvo/douvo/services/relation"
	"github.com/douvo/douvo/services/user"
)

// Page lengths of the follow, follower and friend lists. The client API has
// no paging for them; a list longer than the page is cut, and clients that
// know the extension page through it with limit and cursor (see API.md).
const (
	// defaultListLimit is the page length when the request has no limit.
	defaultListLimit = 100
	// maxListLimit is the longest page a request may ask for.
	maxListLimit = 200
)

// The action_type values of /relation/action/.
const (
	actionFollow   = "1"
	actionUnfollow = "2"
)

var (
	errActionType = apierr.New(apierr.Invalid, "action_type must be 1 (follow) or 2 (unfollow)")
	errListLimit  = apierr.New(apierr.Invalid, "limit must be an integer between 1 and 200")
)

// FriendUser is the client's FriendUser object: a User, plus the text of
// the latest message exchanged between the caller and this friend and which
// way it went.
//
// Until a conversation has a message (and for anonymous callers), message is
// absent and msgType is 0; clients must read msgType only when message is
// present.
type FriendUser struct {
	User
	// Message is the content of the latest message, as the client reads it.
	Message string `json:"message,omitempty"`
	// MsgType is 0 when the caller received Message, 1 when it sent it.
	MsgType int64 `json:"msgType"`
}

type userListResponse struct {
	web.Status
	UserList []User `json:"user_list"`
	// NextCursor is set when the list goes on beyond this page.
	NextCursor string `json:"next_cursor,omitempty"`
}

type friendListResponse struct {
	web.Status
	UserList   []FriendUser `json:"user_list"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// relationRoutes registers following and the three lists. Beyond the client
// contract, every list accepts two optional parameters, documented in
// API.md: limit (1 to 200 users, default 100) and cursor (the next_cursor
// of the previous page, which the answer carries while the list goes on).
func (g *Gateway) relationRoutes(api fiber.Router, mw chain) {
	route(api, "/relation/action/", mw.required, mw.perUser, g.relationAction)
	route(api, "/relation/follow/list/", mw.optional, mw.perUser, g.followList)
	route(api, "/relation/follower/list/", mw.optional, mw.perUser, g.followerList)
	route(api, "/relation/friend/list/", mw.optional, mw.perUser, g.friendList)
}

func (g *Gateway) relationAction(c *fiber.Ctx) error {
	target, err := idParam(c, "to_user_id")
	if err != nil {
		return err
	}
	action, err := requireParam(c, "action_type")
	if err != nil {
		return err
	}
	switch strings.TrimSpace(action) {
	case actionFollow:
		_, err = g.svc.Relations.Follow(c.UserContext(), viewer(c), target)
	case actionUnfollow:
		_, err = g.svc.Relations.Unfollow(c.UserContext(), viewer(c), target)
	default:
		return errActionType
	}
	if err != nil {
		return err
	}
	return c.JSON(web.OK())
}

func (g *Gateway) followList(c *fiber.Ctx) error {
	users, next, err := g.listUsers(c, relation.Following)
	if err != nil {
		return err
	}
	return c.JSON(userListResponse{Status: web.OK(), UserList: users, NextCursor: next})
}

func (g *Gateway) followerList(c *fiber.Ctx) error {
	users, next, err := g.listUsers(c, relation.Followers)
	if err != nil {
		return err
	}
	return c.JSON(userListResponse{Status: web.OK(), UserList: users, NextCursor: next})
}

func (g *Gateway) friendList(c *fiber.Ctx) error {
	users, next, err := g.listUsers(c, relation.Friends)
	if err != nil {
		return err
	}
	latest := map[int64]LatestMessage{}
	if me := viewer(c); me != 0 && len(users) > 0 {
		peers := make([]int64, 0, len(users))
		for _, u := range users {
			peers = append(peers, u.ID)
		}
		if latest, err = g.latestMessages(c.UserContext(), me, peers); err != nil {
			return err
		}
	}
	friends := make([]FriendUser, 0, len(users))
	for _, u := range users {
		f := FriendUser{User: u}
		if l, ok := latest[u.ID]; ok {
			f.Message, f.MsgType = l.Message.Content, l.MsgType
		}
		friends = append(friends, f)
	}
	return c.JSON(friendListResponse{Status: web.OK(), UserList: friends, NextCursor: next})
}

// listUsers reads a page of the list of user_id (the caller when absent) and
// composes it into User objects as the caller sees them. The listed user is
// composed along with the page, which tells an unknown user from an empty
// list without another call.
func (g *Gateway) listUsers(c *fiber.Ctx, list relation.List) ([]User, string, error) {
	me := viewer(c)
	subject := me
	if param(c, "user_id") != "" || subject == 0 {
		var err error
		if subject, err = idParam(c, "user_id"); err != nil {
			return nil, "", err
		}
	}
	limit, err := limitParam(c)
	if err != nil {
		return nil, "", err
	}

	ctx := c.UserContext()
	page, err := g.svc.Relations.List(ctx, subject, list, limit, param(c, "cursor"))
	if err != nil {
		return nil, "", err
	}
	users, err := g.compose(ctx, me, append(slices.Clone(page.IDs), subject))
	if err != nil {
		return nil, "", err
	}
	if _, ok := users[subject]; !ok {
		return nil, "", user.ErrNotFound
	}
	out := make([]User, 0, len(page.IDs))
	for _, id := range page.IDs {
		if u, ok := users[id]; ok {
			out = append(out, u)
		}
	}
	return out, page.Next, nil
}

// limitParam reads the optional page length of a list.
func limitParam(c *fiber.Ctx) (int, error) {
	raw := strings.TrimSpace(param(c, "limit"))
	if raw == "" {
		return defaultListLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxListLimit {
		return 0, errListLimit
	}
	return n, nil
}
