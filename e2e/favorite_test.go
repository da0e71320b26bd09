package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLikesShowInEveryListAndDriveTheCounters(t *testing.T) {
	author, fan, other := signUp(t, "liked"), signUp(t, "fan"), signUp(t, "other")
	v1, v2 := publishClip(t, author), publishClip(t, author)

	ok(t, likeAction(t, fan, v1, true))
	ok(t, likeAction(t, fan, v1, true))

	// The next request sees the like: is_favorite for the caller in the
	// publish list, the feed and the favorite list.
	mine := works(t, fan.Token, author.ID)
	got1, _ := videoIn(mine, v1)
	got2, _ := videoIn(mine, v2)
	require.True(t, got1.IsFavorite, "the liked video, in its author's list as the fan sees it")
	require.False(t, got2.IsFavorite)
	theirs, _ := videoIn(works(t, other.Token, author.ID), v1)
	require.False(t, theirs.IsFavorite, "is_favorite is the caller's own")
	anonymous, _ := videoIn(works(t, "", author.ID), v1)
	require.False(t, anonymous.IsFavorite)

	var feed struct {
		VideoList []clientVideo `json:"video_list"`
	}
	decodeField(t, ok(t, get(t, "/douyin/feed/", vals("token", fan.Token))), "video_list", &feed.VideoList)
	inFeed, found := videoIn(feed.VideoList, v1)
	require.True(t, found, "the video was published moments ago")
	require.True(t, inFeed.IsFavorite)

	list := favorites(t, fan.Token, fan.ID)
	require.Equal(t, []int64{v1}, videoIDs(list), "liking twice lists the video once")
	require.True(t, list[0].IsFavorite)
	require.Equal(t, author.ID, list[0].Author.ID)
	require.Equal(t, []int64{v1}, videoIDs(favorites(t, "", fan.ID)), "anyone may read the list")
	require.False(t, favorites(t, other.Token, fan.ID)[0].IsFavorite,
		"the list of someone else shows the caller's is_favorite")

	// The counters follow: once each, whatever the repeats.
	settle(t, "one like",
		videoCounts(author.ID, v1, 1, 0), videoCounts(author.ID, v2, 0, 0),
		userCounts(fan.Token, fan.ID, 1, 0), userCounts(fan.Token, author.ID, 0, 1))

	// Most recent like first; a like renewed moves to the front.
	ok(t, likeAction(t, fan, v2, true))
	require.Equal(t, []int64{v2, v1}, videoIDs(favorites(t, fan.Token, fan.ID)))
	ok(t, likeAction(t, fan, v1, false))
	ok(t, likeAction(t, fan, v1, true))
	require.Equal(t, []int64{v1, v2}, videoIDs(favorites(t, fan.Token, fan.ID)))
	ok(t, likeAction(t, other, v1, true))
	settle(t, "three likes",
		videoCounts(author.ID, v1, 2, 0), videoCounts(author.ID, v2, 1, 0),
		userCounts(fan.Token, fan.ID, 2, 0), userCounts(fan.Token, other.ID, 1, 0),
		userCounts(fan.Token, author.ID, 0, 3))

	// Unliking is idempotent too, and the list forgets the video at once.
	ok(t, likeAction(t, fan, v1, false))
	ok(t, likeAction(t, fan, v1, false))
	require.Equal(t, []int64{v2}, videoIDs(favorites(t, fan.Token, fan.ID)))
	gone, _ := videoIn(works(t, fan.Token, author.ID), v1)
	require.False(t, gone.IsFavorite)
	ok(t, likeAction(t, other, v2, false))
	settle(t, "after unlikes",
		videoCounts(author.ID, v1, 1, 0), videoCounts(author.ID, v2, 1, 0),
		userCounts(fan.Token, fan.ID, 1, 0), userCounts(fan.Token, other.ID, 1, 0),
		userCounts(fan.Token, author.ID, 0, 2))

	// Ids in float notation are accepted when integral.
	ok(t, post(t, "/douyin/favorite/action/", vals("token", other.Token,
		"video_id", strconv.FormatFloat(float64(v2), 'e', -1, 64), "action_type", "1")))
	require.Equal(t, []int64{v2, v1}, videoIDs(favorites(t, other.Token, other.ID)))
	nothing := favorites(t, "", author.ID)
	require.Empty(t, nothing, "a user who liked nothing has an empty list")
}

func TestLikeRefusesBadInputAndChangesNothing(t *testing.T) {
	author, fan := signUp(t, "badlike"), signUp(t, "badfan")
	v := publishClip(t, author)
	ok(t, likeAction(t, fan, v, true))
	settle(t, "the one like", videoCounts(author.ID, v, 1, 0), userCounts(fan.Token, fan.ID, 1, 0))

	action := func(params ...string) reply {
		return post(t, "/douyin/favorite/action/", vals(append([]string{"token", fan.Token}, params...)...))
	}
	fails(t, action("video_id", "900719925474099", "action_type", "1"), http.StatusOK, "video not found")
	fails(t, action("video_id", "900719925474099", "action_type", "2"), http.StatusOK, "video not found")
	for _, at := range []string{"0", "3", "like", "1.0", ""} {
		fails(t, action("video_id", itoa(v), "action_type", at), http.StatusBadRequest, "action_type")
	}
	fails(t, action("action_type", "2"), http.StatusBadRequest, "video_id is required")
	fails(t, action("video_id", itoa(v)+".5", "action_type", "2"), http.StatusBadRequest, "whole number")
	fails(t, action("video_id", "-3", "action_type", "2"), http.StatusBadRequest, "out of range")
	fails(t, action("video_id", "abc", "action_type", "2"), http.StatusBadRequest, "must be an integer")
	fails(t, post(t, "/douyin/favorite/action/", vals("video_id", itoa(v), "action_type", "2")),
		http.StatusUnauthorized, "token")
	fails(t, get(t, "/douyin/favorite/list/", vals("user_id", "900719925474099")), http.StatusOK,
		"user not found")
	fails(t, get(t, "/douyin/favorite/list/", vals("user_id", "1.5")), http.StatusBadRequest, "whole number")
	fails(t, get(t, "/douyin/favorite/list/", nil), http.StatusBadRequest, "user_id is required")

	require.Equal(t, []int64{v}, videoIDs(favorites(t, fan.Token, fan.ID)), "nothing changed")
	settle(t, "the same like", videoCounts(author.ID, v, 1, 0), userCounts(fan.Token, fan.ID, 1, 0),
		userCounts(fan.Token, author.ID, 0, 1))
}

// likeTruth tracks, from the client's side, which user likes which video
// after a run of actions that all succeeded.
type likeTruth struct {
	mu    sync.Mutex
	liked map[[2]int64]bool
}

func newLikeTruth() *likeTruth { return &likeTruth{liked: map[[2]int64]bool{}} }

func (lt *likeTruth) set(user, video int64, liked bool) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.liked[[2]int64{user, video}] = liked
}

// expectations are the counters the truth implies: each video's
// favorite_count, each user's favorite_count, and the author's
// total_favorited.
func (lt *likeTruth) expectations(author account, users []account, videos []int64) []expectation {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	perVideo := map[int64]int64{}
	var exps []expectation
	total := int64(0)
	for _, u := range users {
		given := int64(0)
		for _, v := range videos {
			if lt.liked[[2]int64{u.ID, v}] {
				given++
				perVideo[v]++
				total++
			}
		}
		exps = append(exps, userCounts(author.Token, u.ID, given, 0))
	}
	for _, v := range videos {
		exps = append(exps, videoCounts(author.ID, v, perVideo[v], 0))
	}
	return append(exps, userCounts(author.Token, author.ID, 0, total))
}

// checkLists checks every user's favorite list, and is_favorite in it,
// against the truth.
func (lt *likeTruth) checkLists(t *testing.T, users []account, videos []int64) {
	t.Helper()
	for _, u := range users {
		list := favorites(t, u.Token, u.ID)
		var want []int64
		for _, v := range videos {
			if lt.liked[[2]int64{u.ID, v}] {
				want = append(want, v)
			}
		}
		require.ElementsMatch(t, want, videoIDs(list), "favorite list of user %d", u.ID)
		for _, v := range list {
			require.True(t, v.IsFavorite)
		}
	}
}

// burst has every user run actions random likes and unlikes of videos,
// each user's in sequence and all users at once, retrying an action that
// failed until it succeeds (likes are idempotent). A user's first action
// is sent twice at once. halfway, when set, runs once half the actions are
// done, while the others go on.
func burst(t *testing.T, users []account, videos []int64, actions int, truth *likeTruth,
	halfway func(),
) {
	t.Helper()
	var (
		done    atomic.Int64
		retries atomic.Int64
		once    sync.Once
		wg      sync.WaitGroup
		errs    = make(chan error, len(users))
	)
	total := int64(len(users) * actions)
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for n := range actions {
				v, liked := videos[rng.IntN(len(videos))], rng.IntN(3) > 0
				if n == 0 {
					twin := make(chan error, 1)
					go func() { twin <- tryLike(u, v, liked) }()
					if err := tryLike(u, v, liked); err != nil {
						retries.Add(1)
					}
					if err := <-twin; err != nil {
						retries.Add(1)
					}
				}
				deadline := time.Now().Add(90 * time.Second)
				for {
					err := tryLike(u, v, liked)
					if err == nil {
						break
					}
					retries.Add(1)
					if time.Now().After(deadline) {
						errs <- fmt.Errorf("user %d: %w", u.ID, err)
						return
					}
					time.Sleep(200 * time.Millisecond)
				}
				truth.set(u.ID, v, liked)
				if done.Add(1) == total/2 && halfway != nil {
					once.Do(halfway)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("%d actions by %d users; %d attempts failed and were retried", total, len(users), retries.Load())
}

func signUpMany(t *testing.T, prefix string, n int) []account {
	t.Helper()
	out := make([]account, 0, n)
	for range n {
		out = append(out, signUp(t, prefix))
	}
	return out
}

func TestConcurrentLikesAndUnlikesCountExactly(t *testing.T) {
	author := signUp(t, "popular")
	videos := []int64{publishClip(t, author), publishClip(t, author)}
	users := signUpMany(t, "crowd", 32)
	truth := newLikeTruth()

	burst(t, users, videos, 8, truth, nil)

	settle(t, "the counters", truth.expectations(author, users, videos)...)
	truth.checkLists(t, users, videos)
}

func TestARedeliveredLikeEventCountsOnce(t *testing.T) {
	author, fan, late := signUp(t, "redo"), signUp(t, "redofan"), signUp(t, "redolate")
	v := publishClip(t, author)
	ok(t, likeAction(t, fan, v, true))
	settle(t, "the like", videoCounts(author.ID, v, 1, 0), userCounts(fan.Token, fan.ID, 1, 0),
		userCounts(fan.Token, author.ID, 0, 1))

	// The same change again, as a redelivery that the broker cannot
	// recognise: other CloudEvent ids, the same like and version. The
	// consumers dedupe by the like and its version, not by the CloudEvent
	// id.
	event := map[string]any{"user_id": fan.ID, "video_id": v, "author_id": author.ID,
		"liked": true, "version": 1, "at": time.Now().UnixMilli()}
	videoSeen := served(t, "video", "/events/favorite-events")
	favoriteSeen := served(t, "favorite", "/events/favorite-events")
	for _, suffix := range []string{"again", "and-again"} {
		publishEvent(t, "favorite-events", fmt.Sprintf("like-%d-%d-1-%s", fan.ID, v, suffix), event)
	}
	awaitServed(t, "video", "/events/favorite-events", videoSeen+2)
	awaitServed(t, "favorite", "/events/favorite-events", favoriteSeen+2)
	settle(t, "the like delivered three times", videoCounts(author.ID, v, 1, 0),
		userCounts(fan.Token, fan.ID, 1, 0), userCounts(fan.Token, author.ID, 0, 1))

	// An unlike, then the old like once more, late: it is older than what
	// the counters know, and changes nothing.
	ok(t, likeAction(t, fan, v, false))
	settle(t, "the unlike", videoCounts(author.ID, v, 0, 0), userCounts(fan.Token, fan.ID, 0, 0),
		userCounts(fan.Token, author.ID, 0, 0))
	videoSeen = served(t, "video", "/events/favorite-events")
	publishEvent(t, "favorite-events", fmt.Sprintf("like-%d-%d-1-late", fan.ID, v), event)
	awaitServed(t, "video", "/events/favorite-events", videoSeen+1)
	ok(t, likeAction(t, late, v, true))
	settle(t, "a late redelivery and a new like", videoCounts(author.ID, v, 1, 0),
		userCounts(fan.Token, fan.ID, 0, 0), userCounts(fan.Token, late.ID, 1, 0),
		userCounts(fan.Token, author.ID, 0, 1))
}

// TestLikeCountersSurviveACrashOfTheirConsumer kills the video service,
// which counts the videos' likes, in the middle of a burst of likes, starts
// it again, and checks that the counters end exact: the events that arrived
// while it was down, and those it was counting when it died, are counted
// once each. Likes keep working meanwhile: the like service remembers the
// authors of the videos it has seen. It changes the shared mesh, so it must
// not run in parallel with other tests.
func TestLikeCountersSurviveACrashOfTheirConsumer(t *testing.T) {
	author := signUp(t, "crashed")
	videos := []int64{publishClip(t, author), publishClip(t, author)}
	users := signUpMany(t, "survivor", 24)
	truth := newLikeTruth()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, v := range videos {
		ok(t, likeAction(t, author, v, false))
	}

	var restarted sync.WaitGroup
	restarted.Add(1)
	burst(t, users, videos, 8, truth, func() {
		mesh.KillApp("video")
		go func() {
			defer restarted.Done()
			time.Sleep(2 * time.Second)
			if err := mesh.StartApp(ctx, "video"); err != nil {
				t.Errorf("restart video: %v", err)
			}
		}()
	})
	restarted.Wait()
	require.False(t, t.Failed())

	settleAfterOutage(t, "the counters", truth.expectations(author, users, videos)...)
	truth.checkLists(t, users, videos)
}

// TestLikesSurviveACrashOfTheLikeService kills the like service in the
// middle of a burst of likes, while some likes are committed and their
// events not yet published, starts it again, and checks that every like the
// users made is counted exactly once: the relay publishes what the dead
// process left pending. Clients retry the requests that failed meanwhile,
// as a client does. It changes the shared mesh, so it must not run in
// parallel with other tests.
func TestLikesSurviveACrashOfTheLikeService(t *testing.T) {
	author := signUp(t, "killed")
	videos := []int64{publishClip(t, author), publishClip(t, author)}
	users := signUpMany(t, "persist", 24)
	truth := newLikeTruth()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var restarted sync.WaitGroup
	restarted.Add(1)
	burst(t, users, videos, 8, truth, func() {
		mesh.KillApp("favorite")
		go func() {
			defer restarted.Done()
			time.Sleep(time.Second)
			if err := mesh.StartApp(ctx, "favorite"); err != nil {
				t.Errorf("restart favorite: %v", err)
			}
		}()
	})
	restarted.Wait()
	require.False(t, t.Failed())

	settleAfterOutage(t, "the counters", truth.expectations(author, users, videos)...)
	truth.checkLists(t, users, videos)
}

// TestVideoListsCostAFixedNumberOfCalls counts the calls a page of videos
// makes to the like service, whatever its length: one batch for the
// viewer's is_favorite and one for the authors' like counters.
func TestVideoListsCostAFixedNumberOfCalls(t *testing.T) {
	viewer := signUp(t, "counter")
	authors := signUpMany(t, "many", 3)
	var mine []int64
	for _, a := range authors {
		for range 2 {
			v := publishClip(t, a)
			mine = append(mine, v)
			ok(t, likeAction(t, viewer, v, true))
		}
	}

	type route struct{ app, path string }
	routes := []route{
		{"favorite", "/v1/likes/check"}, {"favorite", "/v1/users/counts"},
		{"favorite", "/v1/users/:id/likes"}, {"user", "/v1/users/batch"},
		{"video", "/v1/authors/works"}, {"video", "/v1/videos/batch"},
		{"video", "/v1/feed"}, {"relation", "/v1/relations/batch"},
	}
	calls := func(do func()) map[string]int {
		before := map[string]int{}
		for _, r := range routes {
			before[r.app+r.path] = served(t, r.app, r.path)
		}
		do()
		out := map[string]int{}
		for _, r := range routes {
			if n := served(t, r.app, r.path) - before[r.app+r.path]; n > 0 {
				out[r.app+r.path] = n
			}
		}
		return out
	}

	var page []clientVideo
	feedCalls := calls(func() {
		decodeField(t, ok(t, get(t, "/douyin/feed/", vals("token", viewer.Token))), "video_list", &page)
	})
	require.GreaterOrEqual(t, len(page), len(mine))
	require.Equal(t, map[string]int{
		"video/v1/feed": 1, "relation/v1/relations/batch": 1,
		"favorite/v1/likes/check": 1, "favorite/v1/users/counts": 1,
		"user/v1/users/batch": 1, "video/v1/authors/works": 1,
	}, feedCalls, "a feed page of %d videos", len(page))

	var liked []clientVideo
	listCalls := calls(func() { liked = favorites(t, viewer.Token, viewer.ID) })
	require.Len(t, liked, len(mine))
	require.Equal(t, map[string]int{
		"favorite/v1/users/:id/likes": 1, "video/v1/videos/batch": 1,
		"relation/v1/relations/batch": 1, "favorite/v1/likes/check": 1,
		"favorite/v1/users/counts": 1, "user/v1/users/batch": 1, "video/v1/authors/works": 1,
	}, listCalls, "a favorite list of %d videos by %d authors", len(liked), len(authors))
}

func TestFavoriteServiceContract(t *testing.T) {
	spec := loadSpec(t, "services/favorite/api.yaml")
	author, fan := signUp(t, "fcauthor"), signUp(t, "fcfan")
	v := publishClip(t, author)
	call := func(method, path string, body any) reply {
		return invoke(t, spec, "favorite", method, path, body)
	}
	set := func(user, video int64, liked bool) reply {
		return call(http.MethodPost, "/v1/likes", map[string]any{"user_id": user, "video_id": video, "liked": liked})
	}
	ids := func(r reply) []int64 {
		raw, _ := r.Body["video_ids"].([]any)
		out := make([]int64, 0, len(raw))
		for _, x := range raw {
			out = append(out, num(t, x))
		}
		return out
	}

	require.Equal(t, int64(0), set(fan.ID, v, true).Code())
	require.Equal(t, int64(0), set(fan.ID, v, true).Code(), "idempotent")
	require.Equal(t, int64(404), set(fan.ID, 900719925474099, true).Code())
	require.Equal(t, int64(400), set(0, v, true).Code())
	require.Equal(t, int64(400), set(fan.ID, -1, false).Code())

	check := call(http.MethodPost, "/v1/likes/check",
		map[string]any{"user_id": fan.ID, "video_ids": []int64{v, 900719925474099, v}})
	require.Equal(t, []int64{v}, ids(check), "liked videos once each")
	require.Equal(t, int64(400), call(http.MethodPost, "/v1/likes/check",
		map[string]any{"user_id": fan.ID, "video_ids": make([]int64, 501)}).Code())
	require.Equal(t, []int64{v}, ids(call(http.MethodGet, fmt.Sprintf("/v1/users/%d/likes", fan.ID), nil)))
	require.Empty(t, ids(call(http.MethodGet, fmt.Sprintf("/v1/users/%d/likes", author.ID), nil)))
	require.Equal(t, int64(400), call(http.MethodGet, "/v1/users/0/likes", nil).Code())

	settle(t, "the like", userCounts(fan.Token, fan.ID, 1, 0))
	counts := call(http.MethodPost, "/v1/users/counts",
		map[string]any{"ids": []int64{fan.ID, author.ID, fan.ID, 0}})
	var entries []struct {
		UserID         int64 `json:"user_id"`
		FavoriteCount  int64 `json:"favorite_count"`
		TotalFavorited int64 `json:"total_favorited"`
	}
	decodeField(t, counts, "counts", &entries)
	require.Len(t, entries, 2, "one entry per distinct positive id: %s", counts.Raw)
	require.Equal(t, fan.ID, entries[0].UserID)
	require.Equal(t, int64(1), entries[0].FavoriteCount)
	require.Equal(t, int64(1), entries[1].TotalFavorited)

	require.Equal(t, int64(0), set(fan.ID, v, false).Code())
	require.Empty(t, ids(call(http.MethodPost, "/v1/likes/check",
		map[string]any{"user_id": fan.ID, "video_ids": []int64{v}})))
}
