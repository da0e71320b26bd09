package user

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/douvo/douvo/internal/platform/sidecar"
)

// Client calls the user service through the caller's Dapr sidecar. Errors
// the service reports come back as the same apierr sentinels.
type Client struct {
	sc *sidecar.Sidecar
}

// NewClient returns a Client that invokes the user service through sc.
func NewClient(sc *sidecar.Sidecar) *Client { return &Client{sc: sc} }

// Register creates an account and returns its id.
func (c *Client) Register(ctx context.Context, name, password string) (int64, error) {
	var resp IDResponse
	err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/users",
		CredentialsRequest{Username: name, Password: password}, &resp)
	if err != nil {
		return 0, fmt.Errorf("register: %w", err)
	}
	return resp.UserID, nil
}

// Login checks credentials and returns the account's id.
func (c *Client) Login(ctx context.Context, name, password string) (int64, error) {
	var resp IDResponse
	err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/login",
		CredentialsRequest{Username: name, Password: password}, &resp)
	if err != nil {
		return 0, fmt.Errorf("login: %w", err)
	}
	return resp.UserID, nil
}

// Get returns one user.
func (c *Client) Get(ctx context.Context, id int64) (User, error) {
	var resp ProfileResponse
	err := c.sc.Invoke(ctx, AppID, http.MethodGet, "v1/users/"+strconv.FormatInt(id, 10), nil, &resp)
	if err != nil {
		return User{}, fmt.Errorf("get user: %w", err)
	}
	return resp.User, nil
}

// Batch returns the users among ids that exist, in one call.
func (c *Client) Batch(ctx context.Context, ids []int64) ([]User, error) {
	if len(ids) == 0 {
		return []User{}, nil
	}
	var resp BatchResponse
	if err := c.sc.Invoke(ctx, AppID, http.MethodPost, "v1/users/batch",
		BatchRequest{IDs: ids}, &resp); err != nil {
		return nil, fmt.Errorf("batch users: %w", err)
	}
	return resp.Users, nil
}
