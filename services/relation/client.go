package relation

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// Client calls the relation service through the caller's Dapr sidecar.
// Errors the service reports come back as the same apierr sentinels.
type Client struct {
	sc *sidecar.Sidecar
}

// NewClient returns a Client that invokes the relation service through sc.
func NewClient(sc *sidecar.Sidecar) *Client { return &Client{sc: sc} }

// Follow makes follower follow followee.
func (c *Client) Follow(ctx context.Context, follower, followee int64) (Outcome, error) {
	var resp OutcomeResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodPut, edgePath(follower, followee), nil, &resp); err != nil {
		return Outcome{}, fmt.Errorf("follow: %w", err)
	}
	return resp.Outcome, nil
}

// Unfollow makes follower stop following followee.
func (c *Client) Unfollow(ctx context.Context, follower, followee int64) (Outcome, error) {
	var resp OutcomeResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodDelete, edgePath(follower, followee), nil, &resp); err != nil {
		return Outcome{}, fmt.Errorf("unfollow: %w", err)
	}
	return resp.Outcome, nil
}

func edgePath(follower, followee int64) string {
	return "v1/users/" + itoa(follower) + "/following/" + itoa(followee)
}

// List reads a page of one of user's lists; limit 0 means DefaultLimit and
// an empty cursor the first page.
func (c *Client) List(ctx context.Context, user int64, list List, limit int, cursor string) (Page, error) {
	q := url.Values{}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	path := "v1/users/" + itoa(user) + "/" + url.PathEscape(string(list))
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var resp PageResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodGet, path, nil, &resp); err != nil {
		return Page{}, fmt.Errorf("list %s: %w", list, err)
	}
	return resp.Page, nil
}

// Batch returns, in one call, the counters of each of ids and whether
// viewer (0 for anonymous) follows it, in the order of ids.
func (c *Client) Batch(ctx context.Context, viewer int64, ids []int64) ([]Relation, error) {
	if len(ids) == 0 {
		return []Relation{}, nil
	}
	var resp BatchResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/relations/batch",
		BatchRequest{Viewer: viewer, IDs: ids}, &resp); err != nil {
		return nil, fmt.Errorf("batch relations: %w", err)
	}
	return resp.Relations, nil
}
