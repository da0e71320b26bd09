package comment

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// Client calls the comment service through the caller's Dapr sidecar.
// Errors the service reports come back as the same apierr sentinels.
type Client struct {
	sc *sidecar.Sidecar
}

// NewClient returns a Client that invokes the comment service through sc.
func NewClient(sc *sidecar.Sidecar) *Client { return &Client{sc: sc} }

// Add writes a comment of user on a video and returns it.
func (c *Client) Add(ctx context.Context, videoID, user int64, text string) (Comment, error) {
	var resp Response
	err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/comments",
		AddRequest{VideoID: videoID, UserID: user, Content: text}, &resp)
	if err != nil {
		return Comment{}, fmt.Errorf("add comment: %w", err)
	}
	return resp.Comment, nil
}

// Delete deletes a comment on a video on behalf of user and returns it.
func (c *Client) Delete(ctx context.Context, videoID, user, id int64) (Comment, error) {
	var resp Response
	err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/comments/delete",
		DeleteRequest{VideoID: videoID, UserID: user, CommentID: id}, &resp)
	if err != nil {
		return Comment{}, fmt.Errorf("delete comment: %w", err)
	}
	return resp.Comment, nil
}

// List returns the comments on a video, newest first.
func (c *Client) List(ctx context.Context, videoID int64) ([]Comment, error) {
	var resp ListResponse
	path := "v1/videos/" + strconv.FormatInt(videoID, 10) + "/comments"
	if err := c.sc.Invoke(ctx, AppID, http.MethodGet, path, nil, &resp); err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	return resp.Comments, nil
}
