package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/douvo/douvo/internal/clips"
)

// TestDataSurvivesARestartOfEverything writes through every service (an
// account, a video, a like, a comment, a follow, a message), stops every
// process of the system, servers included, starts it again on the same data,
// and finds all of it. It restarts the shared mesh, so it must not run in
// parallel with other tests.
func TestDataSurvivesARestartOfEverything(t *testing.T) {
	author, fan := signUp(t, "durable"), signUp(t, "durable")
	published := ok(t, publish(t, author, "survives restarts", clips.MP4))
	video, play := published.Int("video.id"), published.Str("video.play_url")
	ok(t, likeAction(t, fan, video, true))
	said := addComment(t, fan, video, "still here after a restart")
	follow(t, fan, author)
	sent := sendMessage(t, fan, author.ID, "hello across a restart")
	settle(t, "counters before the restart",
		videoCounts(author.ID, video, 1, 1), userCounts("", author.ID, 0, 1))
	_, clip := fetch(t, http.MethodGet, play, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, mesh.Restart(ctx), mesh.Logs())

	login := ok(t, post(t, "/douyin/user/login/", vals("username", author.Name, "password", "pw-"+author.Name)))
	require.Equal(t, author.ID, login.Int("user_id"))
	me := ok(t, get(t, "/douyin/user/", vals("token", author.Token)))
	require.Equal(t, author.Name, me.Str("user.name"), "tokens issued before the restart stay valid")

	t.Run("the video, its file and its counters", func(t *testing.T) {
		v, found := videoIn(works(t, fan.Token, author.ID), video)
		require.True(t, found, "the video is in its author's list")
		require.True(t, v.IsFavorite, "the fan's like is kept")
		require.Equal(t, int64(1), v.FavoriteCount)
		require.Equal(t, int64(1), v.CommentCount)
		resp, body := fetch(t, http.MethodGet, play, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, clip, body, "the stored file is the one uploaded")
	})
	t.Run("likes, comments, follows and chat", func(t *testing.T) {
		require.Equal(t, []int64{video}, videoIDs(favorites(t, fan.Token, fan.ID)))
		require.NoError(t, userCounts("", author.ID, 0, 1)(), "likes received")
		require.NoError(t, userCounts("", fan.ID, 1, 0)(), "likes given")
		require.Equal(t, []int64{said.ID}, commentIDs(comments(t, fan.Token, video)))
		require.Equal(t, []int64{author.ID}, listIDs(t, "follow", fan.ID))
		require.Equal(t, []int64{fan.ID}, listIDs(t, "follower", author.ID))
		require.Equal(t, []int64{sent.ID}, messageIDs(history(t, author, fan.ID, 0)))
	})

	after := signUp(t, "durable")
	require.Greater(t, after.ID, fan.ID, "the id sequence continues after a restart")
	again := ok(t, publish(t, after, "after the restart", clips.MP4)).Int("video.id")
	require.Greater(t, again, video, "so does the video id sequence")
}
