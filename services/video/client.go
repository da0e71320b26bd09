package video

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// Client calls the video service through the caller's Dapr sidecar. Errors
// the service reports come back as the same apierr sentinels.
type Client struct {
	sc *sidecar.Sidecar
}

// NewClient returns a Client that invokes the video service through sc.
func NewClient(sc *sidecar.Sidecar) *Client { return &Client{sc: sc} }

// Publish streams a video file of size bytes from r to the service and
// returns the published video. The service refuses a file that does not
// arrive whole.
func (c *Client) Publish(ctx context.Context, author int64, title string, r io.Reader,
	size int64,
) (Video, error) {
	q := url.Values{"author_id": {strconv.FormatInt(author, 10)}, "title": {title},
		"size": {strconv.FormatInt(size, 10)}}
	var resp PublishResponse
	err := c.sc.InvokeStream(ctx, AppID, http.MethodPost, "v1/videos?"+q.Encode(),
		"application/octet-stream", r, size, &resp)
	if err != nil {
		return Video{}, fmt.Errorf("publish video: %w", err)
	}
	return resp.Video, nil
}

// Feed returns at most limit videos published strictly before beforeMS (any
// time when zero), newest first.
func (c *Client) Feed(ctx context.Context, beforeMS int64, limit int) ([]Video, error) {
	q := url.Values{"before": {strconv.FormatInt(beforeMS, 10)}, "limit": {strconv.Itoa(limit)}}
	var resp VideosResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodGet, "v1/feed?"+q.Encode(), nil, &resp); err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	return resp.Videos, nil
}

// Batch returns the videos among ids that exist, in one call: other
// services use it to check that a video exists and to learn its author.
func (c *Client) Batch(ctx context.Context, ids []int64) ([]Video, error) {
	if len(ids) == 0 {
		return []Video{}, nil
	}
	var resp VideosResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/videos/batch",
		BatchRequest{IDs: ids}, &resp); err != nil {
		return nil, fmt.Errorf("batch videos: %w", err)
	}
	return resp.Videos, nil
}

// ByAuthor returns an author's videos, newest first.
func (c *Client) ByAuthor(ctx context.Context, author int64) ([]Video, error) {
	var resp VideosResponse
	path := "v1/authors/" + strconv.FormatInt(author, 10) + "/videos"
	if err := c.sc.Invoke(ctx, AppID, http.MethodGet, path, nil, &resp); err != nil {
		return nil, fmt.Errorf("author's videos: %w", err)
	}
	return resp.Videos, nil
}

// WorkCounts returns how many videos each author among ids has published,
// in one call.
func (c *Client) WorkCounts(ctx context.Context, ids []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var resp WorkCountsResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/authors/works",
		BatchRequest{IDs: ids}, &resp); err != nil {
		return nil, fmt.Errorf("work counts: %w", err)
	}
	for _, wc := range resp.Counts {
		out[wc.AuthorID] = wc.Works
	}
	return out, nil
}

// Media requests a media file by its path (a Video's PlayPath or
// CoverPath) with the given request headers (Range, If-None-Match...) and
// returns the answer as it is, for the caller to relay and close. ctx must
// stay alive while the body is read.
func (c *Client) Media(ctx context.Context, method, path string, header http.Header) (*http.Response, error) {
	resp, err := c.sc.InvokeRaw(ctx, AppID, method, "v1"+path, header)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	return resp, nil
}
