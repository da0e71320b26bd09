package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/web"
	"github.com/douvo/douvo/services/user"
	"github.com/douvo/douvo/services/video"
)

// Video is the client's Video object: the video from the video service, its
// author composed like any User, and the flags relative to the caller.
type Video struct {
	ID            int64  `json:"id"`
	Author        User   `json:"author"`
	PlayURL       string `json:"play_url"`
	CoverURL      string `json:"cover_url"`
	FavoriteCount int64  `json:"favorite_count"`
	CommentCount  int64  `json:"comment_count"`
	IsFavorite    bool   `json:"is_favorite"`
	Title         string `json:"title"`
}

type feedResponse struct {
	web.Status
	NextTime  int64   `json:"next_time"`
	VideoList []Video `json:"video_list"`
}

type videoListResponse struct {
	web.Status
	VideoList []Video `json:"video_list"`
}

type publishResponse struct {
	web.Status
	Video Video `json:"video"`
}

// videoRoutes registers the feed and publish endpoints. Publishing
// authenticates inside its handler: the token may arrive in the multipart
// body after the file, and the body is read only once, as a stream.
func (g *Gateway) videoRoutes(api fiber.Router, mw chain) {
	route(api, "/feed/", mw.optional, mw.perUser, g.feed)
	route(api, "/publish/action/", g.publish)
	route(api, "/publish/list/", mw.optional, mw.perUser, g.publishList)
}

// Streamed selects the requests whose bodies the gateway reads as a stream:
// uploads.
func Streamed(c *fiber.Ctx) bool {
	return strings.EqualFold(strings.TrimSuffix(c.Path(), "/"), "/douyin/publish/action")
}

// feed answers a page of videos published before latest_time. An absent
// latest_time, or 0 (nothing was published before 1970), means now.
func (g *Gateway) feed(c *fiber.Ctx) error {
	latest, err := millisParam(c, "latest_time", 0)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	vs, err := g.svc.Videos.Feed(ctx, latest, video.FeedPage)
	if err != nil {
		return err
	}
	list, err := g.composeVideos(ctx, viewer(c), g.baseURL(c), vs)
	if err != nil {
		return err
	}
	next := latest
	if next == 0 {
		next = time.Now().UnixMilli()
	}
	if len(vs) > 0 {
		next = vs[len(vs)-1].CreatedAt
	}
	return c.JSON(feedResponse{Status: web.OK(), NextTime: next, VideoList: list})
}

func (g *Gateway) publishList(c *fiber.Ctx) error {
	id := viewer(c)
	if param(c, "user_id") != "" || id == 0 {
		var err error
		if id, err = idParam(c, "user_id"); err != nil {
			return err
		}
	}
	ctx := c.UserContext()
	vs, err := g.svc.Videos.ByAuthor(ctx, id)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		found, err := g.svc.Users.Batch(ctx, []int64{id})
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return user.ErrNotFound
		}
	}
	list, err := g.composeVideos(ctx, viewer(c), g.baseURL(c), vs)
	if err != nil {
		return err
	}
	return c.JSON(videoListResponse{Status: web.OK(), VideoList: list})
}

// baseURL is the scheme and host media URLs start with.
func (g *Gateway) baseURL(c *fiber.Ctx) string {
	if g.media.PublicBaseURL != "" {
		return strings.TrimSuffix(g.media.PublicBaseURL, "/")
	}
	return c.BaseURL()
}

// composeVideos builds client Video objects for vs, in their order, as
// viewerID (0 for an anonymous caller) sees them, in a fixed number of
// service calls whatever their number: the authors are composed together,
// like any list of users, and the viewer's likes of all the videos are
// checked in one batch, concurrently.
func (g *Gateway) composeVideos(ctx context.Context, viewerID int64, base string,
	vs []video.Video,
) ([]Video, error) {
	authorIDs := make([]int64, 0, len(vs))
	videoIDs := make([]int64, 0, len(vs))
	for _, v := range vs {
		videoIDs = append(videoIDs, v.ID)
		if !slices.Contains(authorIDs, v.AuthorID) {
			authorIDs = append(authorIDs, v.AuthorID)
		}
	}
	var (
		authors map[int64]User
		liked   map[int64]bool
	)
	err := concurrently(ctx,
		func(ctx context.Context) (err error) {
			authors, err = g.compose(ctx, viewerID, authorIDs)
			return err
		},
		func(ctx context.Context) (err error) {
			liked, err = g.svc.Favorites.Liked(ctx, viewerID, videoIDs)
			return err
		},
	)
	if err != nil {
		return nil, fmt.Errorf("compose videos: %w", err)
	}
	out := make([]Video, 0, len(vs))
	for _, v := range vs {
		author, ok := authors[v.AuthorID]
		if !ok {
			author = User{ID: v.AuthorID}
		}
		out = append(out, Video{
			ID: v.ID, Author: author, Title: v.Title,
			PlayURL: base + v.PlayPath, CoverURL: base + v.CoverPath,
			FavoriteCount: v.FavoriteCount, CommentCount: v.CommentCount,
			IsFavorite: liked[v.ID],
		})
	}
	return out, nil
}
