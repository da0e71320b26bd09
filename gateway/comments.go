package gateway

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/web"
	"github.com/douvo/douvo/services/comment"
)

// Comment is the client's Comment object.
type Comment struct {
	ID      int64  `json:"id"`
	User    User   `json:"user"`
	Content string `json:"content"`
	// CreateDate is the day the comment was written, MM-DD, in the
	// gateway's time zone.
	CreateDate string `json:"create_date"`
}

type commentActionResponse struct {
	web.Status
	// Comment is the comment written, or the comment deleted.
	Comment Comment `json:"comment"`
}

type commentListResponse struct {
	web.Status
	CommentList []Comment `json:"comment_list"`
}

var errBadCommentAction = apierr.New(apierr.Invalid,
	"action_type must be 1 (comment) or 2 (delete a comment)")

// commentRoutes registers the comment endpoints.
func (g *Gateway) commentRoutes(api fiber.Router, mw chain) {
	route(api, "/comment/action/", mw.required, mw.perUser, g.commentAction)
	route(api, "/comment/list/", mw.optional, mw.perUser, g.commentList)
}

// commentAction writes comment_text on video_id (action_type 1), or
// deletes comment_id (2), which only the comment's author and the video's
// author may. Either answers with the comment.
func (g *Gateway) commentAction(c *fiber.Ctx) error {
	videoID, err := idParam(c, "video_id")
	if err != nil {
		return err
	}
	action, err := requireParam(c, "action_type")
	if err != nil {
		return err
	}
	ctx, me := c.UserContext(), viewer(c)
	var cm comment.Comment
	switch strings.TrimSpace(action) {
	case actionDo:
		text, err := requireParam(c, "comment_text")
		if err != nil {
			return err
		}
		if cm, err = g.svc.Comments.Add(ctx, videoID, me, text); err != nil {
			return err
		}
	case actionUndo:
		id, err := idParam(c, "comment_id")
		if err != nil {
			return err
		}
		if cm, err = g.svc.Comments.Delete(ctx, videoID, me, id); err != nil {
			return err
		}
	default:
		return errBadCommentAction
	}
	out, err := g.composeComments(ctx, me, []comment.Comment{cm})
	if err != nil {
		return err
	}
	return c.JSON(commentActionResponse{Status: web.OK(), Comment: out[0]})
}

// commentList answers the comments on video_id, newest first.
func (g *Gateway) commentList(c *fiber.Ctx) error {
	videoID, err := idParam(c, "video_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	cms, err := g.svc.Comments.List(ctx, videoID)
	if err != nil {
		return err
	}
	out, err := g.composeComments(ctx, viewer(c), cms)
	if err != nil {
		return err
	}
	return c.JSON(commentListResponse{Status: web.OK(), CommentList: out})
}

// composeComments builds client Comment objects for cms, in their order, as
// viewerID (0 for an anonymous caller) sees them, composing their authors
// together like any list of users.
func (g *Gateway) composeComments(ctx context.Context, viewerID int64, cms []comment.Comment) ([]Comment, error) {
	ids := make([]int64, 0, len(cms))
	for _, cm := range cms {
		ids = append(ids, cm.UserID)
	}
	users, err := g.compose(ctx, viewerID, ids)
	if err != nil {
		return nil, fmt.Errorf("compose comments: %w", err)
	}
	out := make([]Comment, 0, len(cms))
	for _, cm := range cms {
		u, ok := users[cm.UserID]
		if !ok {
			u = User{ID: cm.UserID}
		}
		out = append(out, Comment{ID: cm.ID, User: u, Content: cm.Content,
			CreateDate: g.date(cm.CreatedAt)})
	}
	return out, nil
}

// date writes a time in Unix milliseconds as the client's MM-DD.
func (g *Gateway) date(ms int64) string {
	return time.UnixMilli(ms).In(g.zone).Format("01-02")
}
