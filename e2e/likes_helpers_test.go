package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/douvo/douvo/internal/clips"
	"github.com/douvo/douvo/internal/testmesh"
)

// clientUser is the part of a client User object the like and comment
// tests read.
type clientUser struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	FavoriteCount  int64  `json:"favorite_count"`
	TotalFavorited int64  `json:"total_favorited"`
	WorkCount      int64  `json:"work_count"`
	FollowCount    int64  `json:"follow_count"`
	FollowerCount  int64  `json:"follower_count"`
	IsFollow       bool   `json:"is_follow"`
}

// clientVideo is the part of a client Video object they read.
type clientVideo struct {
	ID            int64      `json:"id"`
	Author        clientUser `json:"author"`
	FavoriteCount int64      `json:"favorite_count"`
	CommentCount  int64      `json:"comment_count"`
	IsFavorite    bool       `json:"is_favorite"`
	Title         string     `json:"title"`
}

// settleTimeout bounds the wait for event-driven counters to converge.
const settleTimeout = 2 * time.Minute

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// publishClip publishes a tiny clip for a and returns its video id.
func publishClip(t *testing.T, a account) int64 {
	t.Helper()
	id := ok(t, publish(t, a, "clip of "+a.Name, clips.MP4)).Int("video.id")
	require.Positive(t, id)
	return id
}

// likeAction sends a like (true) or unlike (false) of video for a.
func likeAction(t *testing.T, a account, video int64, liked bool) reply {
	t.Helper()
	action := "2"
	if liked {
		action = "1"
	}
	return post(t, "/douyin/favorite/action/", vals("token", a.Token, "video_id", itoa(video),
		"action_type", action))
}

// tryLike is likeAction for goroutines other than the test's.
func tryLike(a account, video int64, liked bool) error {
	action := "2"
	if liked {
		action = "1"
	}
	var out struct{}
	return gatewayCall(http.MethodPost, "/douyin/favorite/action/", vals("token", a.Token,
		"video_id", itoa(video), "action_type", action), &out)
}

// tryUser reads user id as the holder of token sees it.
func tryUser(token string, id int64) (clientUser, error) {
	var out struct {
		User clientUser `json:"user"`
	}
	err := gatewayCall(http.MethodGet, "/douyin/user/", vals("token", token, "user_id", itoa(id)), &out)
	return out.User, err
}

// tryVideoList reads a list of videos (publish or favorite list) of user as
// the holder of token ("" for anonymous) sees it.
func tryVideoList(path, token string, user int64) ([]clientVideo, error) {
	params := vals("user_id", itoa(user))
	if token != "" {
		params.Set("token", token)
	}
	var out struct {
		VideoList []clientVideo `json:"video_list"`
	}
	if err := gatewayCall(http.MethodGet, path, params, &out); err != nil {
		return nil, err
	}
	if out.VideoList == nil {
		return nil, errors.New("video_list is not an array")
	}
	return out.VideoList, nil
}

// works and favorites read a publish list and a favorite list.
func works(t *testing.T, token string, author int64) []clientVideo {
	t.Helper()
	list, err := tryVideoList("/douyin/publish/list/", token, author)
	require.NoError(t, err)
	return list
}

func favorites(t *testing.T, token string, user int64) []clientVideo {
	t.Helper()
	list, err := tryVideoList("/douyin/favorite/list/", token, user)
	require.NoError(t, err)
	return list
}

// videoIn finds a video in a list.
func videoIn(list []clientVideo, id int64) (clientVideo, bool) {
	for _, v := range list {
		if v.ID == id {
			return v, true
		}
	}
	return clientVideo{}, false
}

func videoIDs(list []clientVideo) []int64 {
	out := make([]int64, 0, len(list))
	for _, v := range list {
		out = append(out, v.ID)
	}
	return out
}

// expectation is a check of the system's state that explains a mismatch.
type expectation func() error

// settle waits, polling, until every expectation holds, and then checks
// that they keep holding for a while: a counter that reached its value by
// counting something twice would move on.
func settle(t *testing.T, what string, exps ...expectation) {
	t.Helper()
	settleFor(t, what, 0, exps...)
}

// redeliveryHorizon bounds how long an event whose delivery failed waits
// for its next try (the events policy of components/common/resiliency.yaml
// backs off to 15 s), with some slack.
const redeliveryHorizon = 20 * time.Second

// settleAfterOutage is settle for counters whose consumer was down or cut
// off: deliveries that failed meanwhile come back after a back-off, and
// until they do, the stale contributions of several sources may add up to
// the right value by chance. The expectations must hold for a whole
// redelivery horizon before they count as settled.
func settleAfterOutage(t *testing.T, what string, exps ...expectation) {
	t.Helper()
	settleFor(t, what, redeliveryHorizon, exps...)
}

// settleFor waits until every expectation has held for quiet without a
// break, then checks that they keep holding.
func settleFor(t *testing.T, what string, quiet time.Duration, exps ...expectation) {
	t.Helper()
	check := func() error {
		for _, e := range exps {
			if err := e(); err != nil {
				return err
			}
		}
		return nil
	}
	start := time.Now()
	var since time.Time
	for {
		last := check()
		switch {
		case last != nil:
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		}
		if !since.IsZero() && time.Since(since) >= quiet {
			break
		}
		if time.Since(start) > settleTimeout+quiet {
			require.NoError(t, last, "%s did not settle within %s", what, settleTimeout+quiet)
			require.Fail(t, "never stable", "%s did not hold for %s in a row", what, quiet)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s settled after %s", what, since.Sub(start).Round(time.Millisecond))
	for range 10 {
		time.Sleep(200 * time.Millisecond)
		require.NoError(t, check(), "%s moved after it had settled", what)
	}
}

// videoCounts expects a video, seen in its author's list, to show these
// counters.
func videoCounts(author, video, favorites, comments int64) expectation {
	return func() error {
		list, err := tryVideoList("/douyin/publish/list/", "", author)
		if err != nil {
			return err
		}
		v, ok := videoIn(list, video)
		if !ok {
			return fmt.Errorf("video %d is not in its author's list", video)
		}
		if v.FavoriteCount != favorites || v.CommentCount != comments {
			return fmt.Errorf("video %d shows favorite_count %d, comment_count %d; want %d, %d",
				video, v.FavoriteCount, v.CommentCount, favorites, comments)
		}
		return nil
	}
}

// userCounts expects a user to show these like counters.
func userCounts(token string, user, given, received int64) expectation {
	return func() error {
		u, err := tryUser(token, user)
		if err != nil {
			return err
		}
		if u.FavoriteCount != given || u.TotalFavorited != received {
			return fmt.Errorf("user %d shows favorite_count %d, total_favorited %d; want %d, %d",
				user, u.FavoriteCount, u.TotalFavorited, given, received)
		}
		return nil
	}
}

// publishEvent publishes data on topic through the gateway's sidecar, as a
// service would, under the CloudEvent id ceID.
func publishEvent(t *testing.T, topic, ceID string, data any) {
	t.Helper()
	body, err := json.Marshal(data)
	require.NoError(t, err)
	u := fmt.Sprintf("http://127.0.0.1:%d/v1.0/publish/pubsub/%s?metadata.cloudevent.id=%s",
		mesh.App("gateway").DaprHTTPPort, topic, ceID)
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("dapr-api-token", mesh.DaprAPIToken())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "%s", raw)
}

// served reads from the metrics of every instance of an app how many
// requests they have answered on a route (such as
// "/events/favorite-events"), whatever their status, since they started.
func served(t *testing.T, app, route string) int {
	t.Helper()
	n, err := tryServed(app, route)
	require.NoError(t, err)
	return n
}

func tryServed(app, route string) (int, error) {
	total := 0
	for _, in := range mesh.Instances(app) {
		n, err := servedBy(in, route)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// servedBy reads the requests one app instance has answered on a route.
func servedBy(in *testmesh.App, route string) (int, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", in.Port))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	total := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "http_requests_total{") || !strings.Contains(line, `route="`+route+`"`) {
			continue
		}
		fields := strings.Fields(line)
		f, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
		total += int(f)
	}
	return total, sc.Err()
}

// awaitServed waits until an app has answered at least n requests on a
// route since it started.
func awaitServed(t *testing.T, app, route string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		got, err := tryServed(app, route)
		return err == nil && got >= n
	}, settleTimeout, 50*time.Millisecond, "%s never served %d requests on %s", app, n, route)
}
