// Package apiclient speaks DouVo's public API the way a mobile client does,
// for the benchmarks and the demo seed. It covers the calls they need, not
// the whole API.
package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls a DouVo gateway.
type Client struct {
	base string
	http *http.Client
}

// New returns a Client of the gateway at base (http://localhost:8080).
func New(base string) *Client {
	return &Client{
		base: strings.TrimSuffix(base, "/"),
		http: &http.Client{
			Timeout:   5 * time.Minute,
			Transport: &http.Transport{MaxIdleConnsPerHost: 256},
		},
	}
}

// Error is a refusal the API answered with.
type Error struct {
	Code int32
	Msg  string
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("status %d: %s", e.Code, e.Msg) }

// envelope is the status every answer carries.
type envelope struct {
	StatusCode int32  `json:"status_code"`
	StatusMsg  string `json:"status_msg"`
}

// Video is the part of a client Video object the callers use.
type Video struct {
	ID            int64  `json:"id"`
	Title         string `json:"title"`
	PlayURL       string `json:"play_url"`
	CoverURL      string `json:"cover_url"`
	FavoriteCount int64  `json:"favorite_count"`
	CommentCount  int64  `json:"comment_count"`
	IsFavorite    bool   `json:"is_favorite"`
	Author        struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"author"`
}

// User is the part of a client User object the callers use.
type User struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	FavoriteCount  int64  `json:"favorite_count"`
	TotalFavorited int64  `json:"total_favorited"`
	WorkCount      int64  `json:"work_count"`
}

// Register creates an account and returns its id and token.
func (c *Client) Register(ctx context.Context, name, password string) (int64, string, error) {
	return c.auth(ctx, "/douyin/user/register/", name, password)
}

// Login signs in and returns the account's id and token.
func (c *Client) Login(ctx context.Context, name, password string) (int64, string, error) {
	return c.auth(ctx, "/douyin/user/login/", name, password)
}

func (c *Client) auth(ctx context.Context, path, name, password string) (int64, string, error) {
	var out struct {
		UserID int64  `json:"user_id"`
		Token  string `json:"token"`
	}
	err := c.call(ctx, http.MethodPost, path, url.Values{"username": {name}, "password": {password}}, &out)
	return out.UserID, out.Token, err
}

// Feed returns a feed page: videos published before latest (Unix ms; 0 for
// the newest), seen by the holder of token ("" for anonymous), and the
// next_time to ask for the following page.
func (c *Client) Feed(ctx context.Context, token string, latest int64) ([]Video, int64, error) {
	q := url.Values{}
	if token != "" {
		q.Set("token", token)
	}
	if latest > 0 {
		q.Set("latest_time", strconv.FormatInt(latest, 10))
	}
	var out struct {
		NextTime  int64   `json:"next_time"`
		VideoList []Video `json:"video_list"`
	}
	err := c.call(ctx, http.MethodGet, "/douyin/feed/", q, &out)
	return out.VideoList, out.NextTime, err
}

// PublishList returns the videos user has published, newest first.
func (c *Client) PublishList(ctx context.Context, token string, user int64) ([]Video, error) {
	var out struct {
		VideoList []Video `json:"video_list"`
	}
	q := url.Values{"token": {token}, "user_id": {strconv.FormatInt(user, 10)}}
	err := c.call(ctx, http.MethodGet, "/douyin/publish/list/", q, &out)
	return out.VideoList, err
}

// User returns the user id as the holder of token sees it.
func (c *Client) User(ctx context.Context, token string, id int64) (User, error) {
	var out struct {
		User User `json:"user"`
	}
	q := url.Values{"token": {token}, "user_id": {strconv.FormatInt(id, 10)}}
	err := c.call(ctx, http.MethodGet, "/douyin/user/", q, &out)
	return out.User, err
}

// Favorite likes (liked) or unlikes a video for the holder of token.
func (c *Client) Favorite(ctx context.Context, token string, video int64, liked bool) error {
	action := "2"
	if liked {
		action = "1"
	}
	q := url.Values{"token": {token}, "video_id": {strconv.FormatInt(video, 10)}, "action_type": {action}}
	return c.call(ctx, http.MethodPost, "/douyin/favorite/action/", q, nil)
}

// Comment writes text on a video for the holder of token and returns the
// new comment's id.
func (c *Client) Comment(ctx context.Context, token string, video int64, text string) (int64, error) {
	var out struct {
		Comment struct {
			ID int64 `json:"id"`
		} `json:"comment"`
	}
	q := url.Values{"token": {token}, "video_id": {strconv.FormatInt(video, 10)},
		"action_type": {"1"}, "comment_text": {text}}
	err := c.call(ctx, http.MethodPost, "/douyin/comment/action/", q, &out)
	return out.Comment.ID, err
}

// Follow makes the holder of token follow (follow) or unfollow another user.
func (c *Client) Follow(ctx context.Context, token string, to int64, follow bool) error {
	action := "2"
	if follow {
		action = "1"
	}
	q := url.Values{"token": {token}, "to_user_id": {strconv.FormatInt(to, 10)}, "action_type": {action}}
	return c.call(ctx, http.MethodPost, "/douyin/relation/action/", q, nil)
}

// Publish uploads the video read from r, streamed, and returns it.
func (c *Client) Publish(ctx context.Context, token, title string, r io.Reader) (Video, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := mw.WriteField("token", token)
		if err == nil {
			err = mw.WriteField("title", title)
		}
		var w io.Writer
		if err == nil {
			w, err = mw.CreateFormFile("data", "video.mp4")
		}
		if err == nil {
			_, err = io.Copy(w, r)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/douyin/publish/action/", pr)
	if err != nil {
		return Video{}, fmt.Errorf("publish: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var out struct {
		Video Video `json:"video"`
	}
	err = c.do(req, &out)
	_ = pr.Close()
	return out.Video, err
}

// call sends params in the query string and decodes the answer into out.
func (c *Client) call(ctx context.Context, method, path string, params url.Values, out any) error {
	u := c.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return c.do(req, out)
}

func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", req.URL.Path, err)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s: answer %d is not JSON: %.200s", req.URL.Path, resp.StatusCode, raw)
	}
	if env.StatusCode != 0 {
		return fmt.Errorf("%s: %w", req.URL.Path, &Error{Code: env.StatusCode, Msg: env.StatusMsg})
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s: decode answer: %w", req.URL.Path, err)
		}
	}
	return nil
}
