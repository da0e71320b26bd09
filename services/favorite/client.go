package favorite

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// Client calls the like service through the caller's Dapr sidecar. Errors
// the service reports come back as the same apierr sentinels.
type Client struct {
	sc *sidecar.Sidecar
}

// NewClient returns a Client that invokes the like service through sc.
func NewClient(sc *sidecar.Sidecar) *Client { return &Client{sc: sc} }

// Set makes user like (liked) or not like a video; repeating a state
// succeeds and changes nothing.
func (c *Client) Set(ctx context.Context, user, videoID int64, liked bool) error {
	err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/likes",
		SetRequest{UserID: user, VideoID: videoID, Liked: liked}, nil)
	if err != nil {
		return fmt.Errorf("set like: %w", err)
	}
	return nil
}

// Liked returns which of videos user likes, in one call.
func (c *Client) Liked(ctx context.Context, user int64, videos []int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(videos))
	if user <= 0 || len(videos) == 0 {
		return out, nil
	}
	var resp VideoIDsResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/likes/check",
		CheckRequest{UserID: user, VideoIDs: videos}, &resp); err != nil {
		return nil, fmt.Errorf("liked videos: %w", err)
	}
	for _, id := range resp.VideoIDs {
		out[id] = true
	}
	return out, nil
}

// List returns the videos user likes, most recent like first.
func (c *Client) List(ctx context.Context, user int64) ([]int64, error) {
	var resp VideoIDsResponse
	path := "v1/users/" + strconv.FormatInt(user, 10) + "/likes"
	if err := c.sc.Invoke(ctx, AppID, http.MethodGet, path, nil, &resp); err != nil {
		return nil, fmt.Errorf("list likes: %w", err)
	}
	return resp.VideoIDs, nil
}

// Counts returns the like counters of users, in one call.
func (c *Client) Counts(ctx context.Context, ids []int64) (map[int64]Counts, error) {
	out := make(map[int64]Counts, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var resp CountsResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/users/counts",
		CountsRequest{IDs: ids}, &resp); err != nil {
		return nil, fmt.Errorf("like counts: %w", err)
	}
	for _, n := range resp.Counts {
		out[n.UserID] = n
	}
	return out, nil
}
