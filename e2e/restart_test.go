package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDataSurvivesARestartOfEverything stops every process of the system,
// servers included, starts it again on the same data, and finds what was
// written before. It restarts the shared mesh, so it must not run in
// parallel with other tests.
func TestDataSurvivesARestartOfEverything(t *testing.T) {
	before := signUp(t, "durable")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, mesh.Restart(ctx), mesh.Logs())

	login := ok(t, post(t, "/douyin/user/login/", vals("username", before.Name, "password", "pw-"+before.Name)))
	require.Equal(t, before.ID, login.Int("user_id"))
	me := ok(t, get(t, "/douyin/user/", vals("token", before.Token)))
	require.Equal(t, before.Name, me.Str("user.name"), "tokens issued before the restart stay valid")

	after := signUp(t, "durable")
	require.Greater(t, after.ID, before.ID, "the id sequence continues after a restart")
}
