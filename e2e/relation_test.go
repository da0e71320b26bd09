package e2e

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listedUser is an entry of a user_list.
type listedUser struct {
	ID            int64           `json:"id"`
	Name          string          `json:"name"`
	FollowCount   int64           `json:"follow_count"`
	FollowerCount int64           `json:"follower_count"`
	IsFollow      bool            `json:"is_follow"`
	Message       json.RawMessage `json:"message"`
	MsgType       *int64          `json:"msgType"`
}

// userList decodes the user_list of a list answer.
func userList(t *testing.T, r reply) []listedUser {
	t.Helper()
	var body struct {
		UserList []listedUser `json:"user_list"`
	}
	require.NoError(t, json.Unmarshal(r.Raw, &body), "%s", r.Raw)
	require.NotNil(t, body.UserList, "user_list must be an array: %s", r.Raw)
	return body.UserList
}

func userIDs(users []listedUser) []int64 {
	out := make([]int64, 0, len(users))
	for _, u := range users {
		out = append(out, u.ID)
	}
	return out
}

func idStr(id int64) string { return strconv.FormatInt(id, 10) }

// relate sends a relation action and asserts it succeeded.
func relate(t *testing.T, from account, to account, actionType string) {
	t.Helper()
	ok(t, post(t, "/douyin/relation/action/",
		vals("token", from.Token, "to_user_id", idStr(to.ID), "action_type", actionType)))
}

func follow(t *testing.T, from, to account)   { t.Helper(); relate(t, from, to, "1") }
func unfollow(t *testing.T, from, to account) { t.Helper(); relate(t, from, to, "2") }

// list reads one of the relation lists of user as the holder of token
// ("" for anonymous), with extra parameters.
func list(t *testing.T, which string, user int64, token string, extra ...string) reply {
	t.Helper()
	v := vals(extra...)
	v.Set("user_id", idStr(user))
	if token != "" {
		v.Set("token", token)
	}
	return ok(t, get(t, "/douyin/relation/"+which+"/list/", v))
}

func listIDs(t *testing.T, which string, user int64) []int64 {
	t.Helper()
	return userIDs(userList(t, list(t, which, user, "")))
}

// info reads a user as the holder of token.
func info(t *testing.T, id int64, token string) reply {
	t.Helper()
	v := vals("user_id", idStr(id))
	if token != "" {
		v.Set("token", token)
	}
	return ok(t, get(t, "/douyin/user/", v))
}

// counts reads a user's follow_count and follower_count.
func counts(t *testing.T, id int64) (follows, followers int64) {
	t.Helper()
	r := info(t, id, "")
	return r.Int("user.follow_count"), r.Int("user.follower_count")
}

func TestFollowAndUnfollow(t *testing.T) {
	ann, bob := signUp(t, "ann"), signUp(t, "bob")

	follow(t, ann, bob)
	follow(t, ann, bob) // repeating a follow succeeds and changes nothing
	f, _ := counts(t, ann.ID)
	_, fr := counts(t, bob.ID)
	assert.Equal(t, int64(1), f, "ann follows one user")
	assert.Equal(t, int64(1), fr, "bob has one follower")

	assert.True(t, info(t, bob.ID, ann.Token).Body["user"].(map[string]any)["is_follow"].(bool),
		"ann sees that she follows bob")
	assert.False(t, info(t, ann.ID, bob.Token).Body["user"].(map[string]any)["is_follow"].(bool),
		"bob does not follow ann")
	assert.False(t, info(t, bob.ID, "").Body["user"].(map[string]any)["is_follow"].(bool),
		"an anonymous caller follows nobody")

	assert.Equal(t, []int64{bob.ID}, listIDs(t, "follow", ann.ID))
	assert.Equal(t, []int64{ann.ID}, listIDs(t, "follower", bob.ID))
	assert.Empty(t, listIDs(t, "follow", bob.ID))
	assert.Empty(t, listIDs(t, "friend", ann.ID), "a one-way follow is no friendship")

	entry := userList(t, list(t, "follower", bob.ID, bob.Token))[0]
	assert.Equal(t, ann.Name, entry.Name)
	assert.Equal(t, int64(1), entry.FollowCount, "list entries carry exact counters")
	assert.False(t, entry.IsFollow, "is_follow is bob's view of ann")

	unfollow(t, ann, bob)
	unfollow(t, ann, bob) // repeating an unfollow succeeds and changes nothing
	f, _ = counts(t, ann.ID)
	_, fr = counts(t, bob.ID)
	assert.Zero(t, f)
	assert.Zero(t, fr)
	assert.Empty(t, listIDs(t, "follow", ann.ID))
	assert.Empty(t, listIDs(t, "follower", bob.ID))
}

func TestFriendsAreMutualFollows(t *testing.T) {
	ann, bob := signUp(t, "ann"), signUp(t, "bob")

	follow(t, ann, bob)
	follow(t, bob, ann)
	annFriends := userList(t, list(t, "friend", ann.ID, ann.Token))
	require.Equal(t, []int64{bob.ID}, userIDs(annFriends))
	assert.Equal(t, []int64{ann.ID}, listIDs(t, "friend", bob.ID))

	friend := annFriends[0]
	assert.Equal(t, bob.Name, friend.Name)
	assert.True(t, friend.IsFollow, "ann follows her friend")
	assert.Equal(t, int64(1), friend.FollowCount)
	assert.Equal(t, int64(1), friend.FollowerCount)
	assert.Nil(t, friend.Message, "no message is exchanged yet, so message is absent")
	require.NotNil(t, friend.MsgType, "msgType is always present")
	assert.Equal(t, int64(0), *friend.MsgType)

	unfollow(t, ann, bob)
	assert.Empty(t, listIDs(t, "friend", ann.ID), "unfollowing ends the friendship on both sides")
	assert.Empty(t, listIDs(t, "friend", bob.ID))
	assert.Equal(t, []int64{ann.ID}, listIDs(t, "follow", bob.ID), "bob still follows ann")
	assert.Equal(t, []int64{bob.ID}, listIDs(t, "follower", ann.ID))

	follow(t, ann, bob)
	assert.Equal(t, []int64{bob.ID}, listIDs(t, "friend", ann.ID), "following back restores it")
	assert.Equal(t, []int64{ann.ID}, listIDs(t, "friend", bob.ID))
}

// TestFriendsCarryTheLatestMessage checks the friend list's message and
// msgType from both sides as the conversation goes back and forth.
func TestFriendsCarryTheLatestMessage(t *testing.T) {
	ann, bob := signUp(t, "ann"), signUp(t, "bob")
	follow(t, ann, bob)
	follow(t, bob, ann)

	latest := func(viewer, friend account) (string, int64) {
		t.Helper()
		users := userList(t, list(t, "friend", viewer.ID, viewer.Token))
		require.Equal(t, []int64{friend.ID}, userIDs(users))
		require.NotNil(t, users[0].MsgType, "msgType is always present")
		var text string
		require.NoError(t, json.Unmarshal(users[0].Message, &text),
			"message is the latest message's text: %s", users[0].Message)
		return text, *users[0].MsgType
	}
	for _, turn := range []struct {
		from, to account
		text     string
	}{
		{ann, bob, "hello bob"},
		{ann, bob, "are you there?"},
		{bob, ann, "here, ann"},
	} {
		sendMessage(t, turn.from, turn.to.ID, turn.text)
		text, typ := latest(turn.from, turn.to)
		assert.Equal(t, turn.text, text, "the sender sees the message at once")
		assert.Equal(t, int64(1), typ, "the sender sent it")
		text, typ = latest(turn.to, turn.from)
		assert.Equal(t, turn.text, text, "the recipient sees the message at once")
		assert.Equal(t, int64(0), typ, "the recipient received it")
	}
}

func TestRelationListsAreNewestFirstAndPage(t *testing.T) {
	fan := signUp(t, "fan")
	var stars []int64
	for range 5 {
		star := signUp(t, "star")
		follow(t, fan, star)
		stars = append([]int64{star.ID}, stars...)
	}
	r := list(t, "follow", fan.ID, "")
	assert.Equal(t, stars, userIDs(userList(t, r)), "most recent follow first")
	assert.False(t, r.Has("next_cursor"), "a list that fits one page has no cursor")

	var paged []int64
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5, "paging must end")
		r := list(t, "follow", fan.ID, "", "limit", "2", "cursor", cursor)
		page := userIDs(userList(t, r))
		require.LessOrEqual(t, len(page), 2)
		paged = append(paged, page...)
		if !r.Has("next_cursor") {
			break
		}
		cursor = r.Str("next_cursor")
	}
	assert.Equal(t, stars, paged, "pages join into the whole list, in order, without repeats")

	for _, bad := range []string{"0", "201", "x", "1.5"} {
		fails(t, get(t, "/douyin/relation/follow/list/", vals("user_id", idStr(fan.ID), "limit", bad)),
			http.StatusBadRequest, "limit")
	}
	fails(t, get(t, "/douyin/relation/follow/list/", vals("user_id", idStr(fan.ID), "cursor", "nope")),
		http.StatusBadRequest, "cursor")
}

func TestIsFollowIsTheCallersView(t *testing.T) {
	star, ann, bob, viewer := signUp(t, "star"), signUp(t, "ann"), signUp(t, "bob"), signUp(t, "viewer")
	follow(t, ann, star)
	follow(t, bob, star)
	follow(t, viewer, bob)

	seen := userList(t, list(t, "follower", star.ID, viewer.Token))
	require.Equal(t, []int64{bob.ID, ann.ID}, userIDs(seen))
	assert.True(t, seen[0].IsFollow, "the viewer follows bob")
	assert.False(t, seen[1].IsFollow, "the viewer does not follow ann, though ann follows star")

	for _, u := range userList(t, list(t, "follower", star.ID, "")) {
		assert.False(t, u.IsFollow, "anonymous callers follow nobody")
	}

	// A list of the caller's own: user_id may be left out.
	mine := ok(t, get(t, "/douyin/relation/follow/list/", vals("token", viewer.Token)))
	assert.Equal(t, []int64{bob.ID}, userIDs(userList(t, mine)))
}

func TestIsFollowIsTheCallersViewWhereverAUserAppears(t *testing.T) {
	bob, ann, viewer := signUp(t, "bob"), signUp(t, "ann"), signUp(t, "viewer")
	follow(t, viewer, bob)
	clip := publishClip(t, bob)
	require.NoError(t, tryLike(bob, clip, true))
	addComment(t, ann, clip, "first")
	addComment(t, bob, clip, "thanks")

	// is_follow of each author, by user id, as token's holder sees them.
	type sight map[int64]bool
	views := map[string]func(token string) sight{
		"user info": func(token string) sight {
			u, err := tryUser(token, bob.ID)
			require.NoError(t, err)
			return sight{u.ID: u.IsFollow}
		},
		"feed": func(token string) sight {
			var out struct {
				VideoList []clientVideo `json:"video_list"`
			}
			require.NoError(t, gatewayCall(http.MethodGet, "/douyin/feed/", vals("token", token), &out))
			v, found := videoIn(out.VideoList, clip)
			require.True(t, found, "the newest video heads the feed")
			return sight{v.Author.ID: v.Author.IsFollow}
		},
		"publish list": func(token string) sight {
			v, _ := videoIn(works(t, token, bob.ID), clip)
			return sight{v.Author.ID: v.Author.IsFollow}
		},
		"favorite list": func(token string) sight {
			v, _ := videoIn(favorites(t, token, bob.ID), clip)
			return sight{v.Author.ID: v.Author.IsFollow}
		},
		"comment list": func(token string) sight {
			out := sight{}
			for _, c := range comments(t, token, clip) {
				out[c.User.ID] = c.User.IsFollow
			}
			return out
		},
	}
	for name, view := range views {
		t.Run(name, func(t *testing.T) {
			want := sight{bob.ID: true}
			if name == "comment list" {
				want[ann.ID] = false
			}
			assert.Equal(t, want, view(viewer.Token), "as the viewer, who follows bob")
			for id := range want {
				want[id] = false
			}
			assert.Equal(t, want, view(""), "anonymously")
			assert.Equal(t, want, view(ann.Token), "as ann, who follows nobody")
		})
	}
}

func TestRelationBadInputChangesNothing(t *testing.T) {
	ann, bob := signUp(t, "ann"), signUp(t, "bob")
	action := func(params ...string) reply {
		return post(t, "/douyin/relation/action/", vals(params...))
	}

	fails(t, action("token", ann.Token, "to_user_id", idStr(ann.ID), "action_type", "1"),
		http.StatusBadRequest, "yourself")
	fails(t, action("token", ann.Token, "to_user_id", "900719925474099", "action_type", "1"),
		http.StatusOK, "user not found")
	fails(t, action("token", ann.Token, "to_user_id", "900719925474099", "action_type", "2"),
		http.StatusOK, "user not found")
	for _, at := range []string{"0", "3", "follow", "1.5"} {
		fails(t, action("token", ann.Token, "to_user_id", idStr(bob.ID), "action_type", at),
			http.StatusBadRequest, "action_type")
	}
	fails(t, action("token", ann.Token, "to_user_id", idStr(bob.ID)), http.StatusBadRequest, "action_type")
	for _, id := range []string{"abc", "-3", "0", "1.5", "9007199254740993", ""} {
		fails(t, action("token", ann.Token, "to_user_id", id, "action_type", "1"),
			http.StatusBadRequest, "to_user_id")
	}
	fails(t, action("to_user_id", idStr(bob.ID), "action_type", "1"), http.StatusUnauthorized, "token")
	fails(t, action("token", "forged", "to_user_id", idStr(bob.ID), "action_type", "1"),
		http.StatusUnauthorized, "token")

	fails(t, get(t, "/douyin/relation/follower/list/", vals("user_id", "900719925474099")),
		http.StatusOK, "user not found")
	fails(t, get(t, "/douyin/relation/follower/list/", vals()), http.StatusBadRequest, "user_id")

	f, fr := counts(t, ann.ID)
	assert.Zero(t, f+fr, "refused requests changed nothing for ann")
	f, fr = counts(t, bob.ID)
	assert.Zero(t, f+fr, "refused requests changed nothing for bob")
	assert.Empty(t, listIDs(t, "follow", ann.ID))
}

func TestRelationActionAcceptsClientQuirks(t *testing.T) {
	ann, bob := signUp(t, "ann"), signUp(t, "bob")
	floatID := strconv.FormatFloat(float64(bob.ID), 'e', -1, 64)

	// A GET with a form body and a float-formatted id, as some clients send.
	ok(t, call(t, http.MethodGet, "/douyin/relation/action", inForm,
		vals("token", ann.Token, "to_user_id", floatID, "action_type", "1")))
	assert.Equal(t, []int64{bob.ID}, listIDs(t, "follow", ann.ID))

	ok(t, call(t, http.MethodPost, "/douyin/relation/action/", inMultipart,
		vals("token", ann.Token, "to_user_id", idStr(bob.ID), "action_type", "2")))
	assert.Empty(t, listIDs(t, "follow", ann.ID))
}

// TestConcurrentFollowsSettleExactly has many users follow and unfollow one
// account at once, each in a random order, then checks that the follower
// list and follower_count agree exactly with each user's last action.
func TestConcurrentFollowsSettleExactly(t *testing.T) {
	const users = 40
	star := signUp(t, "star")
	fans := make([]account, users)
	var wg sync.WaitGroup
	for i := range fans {
		wg.Go(func() { fans[i] = signUp(t, "fan") })
	}
	wg.Wait()

	last := make([]bool, users) // true when a fan's last action was a follow
	for i, fan := range fans {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for range 4 + rng.IntN(8) {
				last[i] = rng.IntN(2) == 0
				action := "2"
				if last[i] {
					action = "1"
				}
				r := post(t, "/douyin/relation/action/",
					vals("token", fan.Token, "to_user_id", idStr(star.ID), "action_type", action))
				if !assert.Equal(t, int64(0), r.Code(), "%s", r.Raw) {
					return
				}
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())

	var want []int64
	for i, fan := range fans {
		if last[i] {
			want = append(want, fan.ID)
		}
	}
	slices.Sort(want)

	var got []int64
	var count int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = listIDs(t, "follower", star.ID)
		slices.Sort(got)
		_, count = counts(t, star.ID)
		if slices.Equal(got, want) && count == int64(len(want)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	assert.Equal(t, want, got, "the follower list holds exactly the fans whose last action was follow")
	assert.Equal(t, int64(len(want)), count, "follower_count counts them exactly")
	for i, fan := range fans {
		f, _ := counts(t, fan.ID)
		wantF := int64(0)
		if last[i] {
			wantF = 1
		}
		assert.Equal(t, wantF, f, "follow_count of fan %d", fan.ID)
	}
}

func TestRelationListsAnswerFormBodiesToo(t *testing.T) {
	ann, bob := signUp(t, "ann"), signUp(t, "bob")
	follow(t, ann, bob)
	r := ok(t, call(t, http.MethodGet, "/douyin/relation/follower/list/", inForm,
		url.Values{"user_id": {idStr(bob.ID)}, "token": {ann.Token}}))
	users := userList(t, r)
	require.Equal(t, []int64{ann.ID}, userIDs(users))
	assert.Equal(t, int64(1), users[0].FollowCount)
}
