package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clientComment is a Comment object as the gateway answers it.
type clientComment struct {
	ID         int64      `json:"id"`
	User       clientUser `json:"user"`
	Content    string     `json:"content"`
	CreateDate string     `json:"create_date"`
}

// addComment writes text on video for a and returns the comment.
func addComment(t *testing.T, a account, video int64, text string) clientComment {
	t.Helper()
	r := ok(t, post(t, "/douyin/comment/action/", vals("token", a.Token, "video_id", itoa(video),
		"action_type", "1", "comment_text", text)))
	var c clientComment
	decodeField(t, r, "comment", &c)
	return c
}

// tryAddComment and tryDeleteComment are for goroutines other than the
// test's.
func tryAddComment(a account, video int64, text string) (clientComment, error) {
	var out struct {
		Comment clientComment `json:"comment"`
	}
	err := gatewayCall(http.MethodPost, "/douyin/comment/action/", vals("token", a.Token,
		"video_id", itoa(video), "action_type", "1", "comment_text", text), &out)
	return out.Comment, err
}

func tryDeleteComment(a account, video, id int64) error {
	var out struct{}
	return gatewayCall(http.MethodPost, "/douyin/comment/action/", vals("token", a.Token,
		"video_id", itoa(video), "action_type", "2", "comment_id", itoa(id)), &out)
}

func deleteComment(t *testing.T, a account, video, id int64) reply {
	t.Helper()
	return post(t, "/douyin/comment/action/", vals("token", a.Token, "video_id", itoa(video),
		"action_type", "2", "comment_id", itoa(id)))
}

// comments reads the comments on video as the holder of token sees them.
func comments(t *testing.T, token string, video int64) []clientComment {
	t.Helper()
	params := vals("video_id", itoa(video))
	if token != "" {
		params.Set("token", token)
	}
	var out []clientComment
	decodeField(t, ok(t, get(t, "/douyin/comment/list/", params)), "comment_list", &out)
	require.NotNil(t, out, "comment_list must be an array")
	return out
}

func commentIDs(cs []clientComment) []int64 {
	out := make([]int64, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// today is the MM-DD the gateway writes for now, in UTC (TIME_ZONE's
// default); both days around a midnight passed during the test qualify.
func today(start time.Time) []string {
	return []string{start.UTC().Format("01-02"), time.Now().UTC().Format("01-02")}
}

func TestCommentsAreListedNewestFirstAndCounted(t *testing.T) {
	start := time.Now()
	author, a, b := signUp(t, "commented"), signUp(t, "ca"), signUp(t, "cb")
	v := publishClip(t, author)
	require.Empty(t, comments(t, "", v), "a new video has no comments")

	c1 := addComment(t, a, v, "  first!  ")
	require.Positive(t, c1.ID)
	require.Equal(t, "first!", c1.Content, "stored trimmed")
	require.Equal(t, a.ID, c1.User.ID)
	require.Equal(t, a.Name, c1.User.Name)
	require.Contains(t, today(start), c1.CreateDate)
	long := strings.Repeat("字", 500)
	c2 := addComment(t, b, v, " "+long+"\n")
	require.Equal(t, long, c2.Content, "500 characters after trimming are accepted")
	require.Greater(t, c2.ID, c1.ID)

	// Visible on the next request, newest first, to anyone.
	got := comments(t, a.Token, v)
	require.Equal(t, []int64{c2.ID, c1.ID}, commentIDs(got))
	require.Equal(t, c1, got[1])
	require.Equal(t, commentIDs(got), commentIDs(comments(t, "", v)))
	settle(t, "two comments", videoCounts(author.ID, v, 0, 2))

	// The comment's author may delete it, and the video's author any
	// comment on it; ids may come in float notation.
	ok(t, deleteComment(t, a, v, c1.ID))
	require.Equal(t, []int64{c2.ID}, commentIDs(comments(t, "", v)))
	r := ok(t, post(t, "/douyin/comment/action/", vals("token", author.Token,
		"video_id", strconv.FormatFloat(float64(v), 'e', -1, 64), "action_type", "2",
		"comment_id", strconv.FormatFloat(float64(c2.ID), 'e', -1, 64))))
	require.Equal(t, c2.ID, r.Int("comment.id"), "the answer carries the deleted comment")
	require.Empty(t, comments(t, "", v))
	settle(t, "all comments deleted", videoCounts(author.ID, v, 0, 0))

	c3 := addComment(t, author, v, "the author's own")
	require.Equal(t, []int64{c3.ID}, commentIDs(comments(t, "", v)))
	settle(t, "a comment after deletions", videoCounts(author.ID, v, 0, 1))
}

func TestCommentRefusesBadInputAndChangesNothing(t *testing.T) {
	author, a, stranger := signUp(t, "cbad"), signUp(t, "cbada"), signUp(t, "cstranger")
	v, w := publishClip(t, author), publishClip(t, author)
	c := addComment(t, a, v, "keep me")
	settle(t, "the one comment", videoCounts(author.ID, v, 0, 1))

	action := func(who account, params ...string) reply {
		return post(t, "/douyin/comment/action/", vals(append([]string{"token", who.Token}, params...)...))
	}
	for _, text := range []string{"   ", "\n\t"} {
		fails(t, action(a, "video_id", itoa(v), "action_type", "1", "comment_text", text),
			http.StatusBadRequest, "comment_text must not be empty")
	}
	fails(t, action(a, "video_id", itoa(v), "action_type", "1"), http.StatusBadRequest,
		"comment_text is required")
	fails(t, action(a, "video_id", itoa(v), "action_type", "1", "comment_text", strings.Repeat("x", 501)),
		http.StatusBadRequest, "at most 500 characters")
	fails(t, action(a, "video_id", "900719925474099", "action_type", "1", "comment_text", "hello"),
		http.StatusOK, "video not found")
	for _, at := range []string{"0", "3", "add", ""} {
		fails(t, action(a, "video_id", itoa(v), "action_type", at, "comment_text", "hello"),
			http.StatusBadRequest, "action_type")
	}
	fails(t, action(a, "action_type", "1", "comment_text", "hello"), http.StatusBadRequest,
		"video_id is required")
	fails(t, action(a, "video_id", "2.5", "action_type", "1", "comment_text", "x"), http.StatusBadRequest,
		"whole number")
	fails(t, post(t, "/douyin/comment/action/", vals("video_id", itoa(v), "action_type", "1",
		"comment_text", "anonymous")), http.StatusUnauthorized, "token")

	fails(t, action(stranger, "video_id", itoa(v), "action_type", "2", "comment_id", itoa(c.ID)),
		http.StatusOK, "only the comment's author or the video's author")
	fails(t, action(a, "video_id", itoa(v), "action_type", "2"), http.StatusBadRequest,
		"comment_id is required")
	fails(t, action(a, "video_id", itoa(v), "action_type", "2", "comment_id", "1.5"),
		http.StatusBadRequest, "whole number")
	fails(t, action(a, "video_id", itoa(v), "action_type", "2", "comment_id", "900719925474099"),
		http.StatusOK, "comment not found")
	fails(t, action(a, "video_id", itoa(w), "action_type", "2", "comment_id", itoa(c.ID)),
		http.StatusOK, "comment not found")
	fails(t, action(a, "video_id", "900719925474099", "action_type", "2", "comment_id", itoa(c.ID)),
		http.StatusOK, "video not found")
	fails(t, get(t, "/douyin/comment/list/", vals("video_id", "900719925474099")), http.StatusOK,
		"video not found")
	fails(t, get(t, "/douyin/comment/list/", nil), http.StatusBadRequest, "video_id is required")

	require.Equal(t, []int64{c.ID}, commentIDs(comments(t, "", v)), "nothing changed")
	require.Empty(t, comments(t, "", w))
	ok(t, deleteComment(t, a, v, c.ID))
	fails(t, deleteComment(t, a, v, c.ID), http.StatusOK, "comment not found")
	settle(t, "the deleted comment", videoCounts(author.ID, v, 0, 0), videoCounts(author.ID, w, 0, 0))
}

func TestConcurrentCommentsAreAllKeptAndCounted(t *testing.T) {
	author := signUp(t, "talked")
	v := publishClip(t, author)
	users := signUpMany(t, "talker", 25)

	var (
		mu    sync.Mutex
		added []clientComment
		wg    sync.WaitGroup
		errs  = make(chan error, len(users))
	)
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				c, err := tryAddComment(u, v, fmt.Sprintf("comment %d of %d", i, u.ID))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				added = append(added, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	// 150 comments fill more than a page of the list, and every one is
	// there once, newest first per author.
	list := comments(t, "", v)
	require.Len(t, list, len(added))
	require.ElementsMatch(t, commentIDs(added), commentIDs(list))
	for i := 1; i < len(list); i++ {
		if list[i].User.ID == list[i-1].User.ID {
			require.Greater(t, list[i-1].ID, list[i].ID, "a user's comments are newest first")
		}
	}
	settle(t, "150 comments", videoCounts(author.ID, v, 0, int64(len(added))))

	// Half of them deleted at once, by their authors.
	var kept []int64
	errs = make(chan error, len(added))
	for i, c := range added {
		if i%2 == 1 {
			kept = append(kept, c.ID)
			continue
		}
		owner := users[0]
		for _, u := range users {
			if u.ID == c.User.ID {
				owner = u
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := tryDeleteComment(owner, v, c.ID); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.ElementsMatch(t, kept, commentIDs(comments(t, "", v)))
	settle(t, "after the deletions", videoCounts(author.ID, v, 0, int64(len(kept))))
}

func TestARedeliveredCommentEventCountsOnce(t *testing.T) {
	author, a := signUp(t, "credo"), signUp(t, "credoa")
	v := publishClip(t, author)
	c := addComment(t, a, v, "once")
	settle(t, "the comment", videoCounts(author.ID, v, 0, 1))

	event := map[string]any{"comment_id": c.ID, "video_id": v, "user_id": a.ID, "deleted": false,
		"version": 1, "at": time.Now().UnixMilli()}
	seen := served(t, "video", "/events/comment-events")
	for _, suffix := range []string{"again", "and-again"} {
		publishEvent(t, "comment-events", fmt.Sprintf("comment-%d-1-%s", c.ID, suffix), event)
	}
	awaitServed(t, "video", "/events/comment-events", seen+2)
	settle(t, "the comment delivered three times", videoCounts(author.ID, v, 0, 1))

	ok(t, deleteComment(t, a, v, c.ID))
	settle(t, "the deletion", videoCounts(author.ID, v, 0, 0))
	seen = served(t, "video", "/events/comment-events")
	publishEvent(t, "comment-events", fmt.Sprintf("comment-%d-1-late", c.ID), event)
	awaitServed(t, "video", "/events/comment-events", seen+1)
	settle(t, "a late redelivery of the comment", videoCounts(author.ID, v, 0, 0))
}

func TestCommentServiceContract(t *testing.T) {
	spec := loadSpec(t, "services/comment/api.yaml")
	author, a, stranger := signUp(t, "ccauthor"), signUp(t, "cca"), signUp(t, "ccs")
	v := publishClip(t, author)
	call := func(method, path string, body any) reply {
		return invoke(t, spec, "comment", method, path, body)
	}
	add := func(user int64, content string) reply {
		return call(http.MethodPost, "/v1/comments", map[string]any{"video_id": v, "user_id": user,
			"content": content})
	}
	del := func(user, video, id int64) reply {
		return call(http.MethodPost, "/v1/comments/delete", map[string]any{"video_id": video,
			"user_id": user, "comment_id": id})
	}
	list := func(video int64) reply {
		return call(http.MethodGet, fmt.Sprintf("/v1/videos/%d/comments", video), nil)
	}

	first := add(a.ID, " hi ")
	require.Equal(t, int64(0), first.Code())
	require.Equal(t, "hi", first.Str("comment.content"))
	id := first.Int("comment.id")
	second := add(author.ID, "hello")
	require.Greater(t, second.Int("comment.id"), id)
	listed, _ := list(v).Body["comments"].([]any)
	require.Len(t, listed, 2)

	require.Equal(t, int64(400), add(a.ID, "  ").Code())
	require.Equal(t, int64(400), add(a.ID, strings.Repeat("é", 501)).Code())
	require.Equal(t, int64(400), add(0, "x").Code())
	require.Equal(t, int64(404), call(http.MethodPost, "/v1/comments",
		map[string]any{"video_id": 900719925474099, "user_id": a.ID, "content": "x"}).Code())
	require.Equal(t, int64(404), list(900719925474099).Code())
	require.Equal(t, int64(400), list(0).Code())

	require.Equal(t, int64(403), del(stranger.ID, v, id).Code())
	require.Equal(t, int64(404), del(a.ID, v, 900719925474099).Code())
	require.Equal(t, int64(400), del(a.ID, v, 0).Code())
	gone := del(author.ID, v, id)
	require.Equal(t, int64(0), gone.Code(), "the video's author may delete any comment on it")
	require.Equal(t, id, gone.Int("comment.id"))
	require.Equal(t, int64(404), del(a.ID, v, id).Code(), "a deleted comment is not found")
	listed, _ = list(v).Body["comments"].([]any)
	require.Len(t, listed, 1)
}
