package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRegisterLoginAndInfo(t *testing.T) {
	name := uniqueName("ada")
	reg := ok(t, post(t, "/douyin/user/register/", vals("username", name, "password", "lovelace")))
	id := reg.Int("user_id")
	require.Positive(t, id)
	require.NotEmpty(t, reg.Str("token"))

	login := ok(t, post(t, "/douyin/user/login/", vals("username", name, "password", "lovelace")))
	require.Equal(t, id, login.Int("user_id"))

	info := ok(t, get(t, "/douyin/user/", vals("user_id", "1", "token", login.Str("token"))))
	require.True(t, info.Has("user.id"))

	me := ok(t, get(t, "/douyin/user/", vals("token", login.Str("token"))))
	require.Equal(t, id, me.Int("user.id"))
	require.Equal(t, name, me.Str("user.name"))
	for _, key := range []string{"follow_count", "follower_count", "is_follow", "avatar",
		"background_image", "signature", "total_favorited", "work_count", "favorite_count"} {
		require.True(t, me.Has("user."+key), "user object lacks %s: %s", key, me.Raw)
	}
}
