package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAServiceThatIsDownFailsFastAndComesBack stops the user service, checks
// that the gateway answers calls that need it with a clear envelope while
// the rest keeps answering, then starts it again and checks that calls
// succeed without restarting anything else. It changes the shared mesh, so it
// must not run in parallel with other tests.
func TestAServiceThatIsDownFailsFastAndComesBack(t *testing.T) {
	a := signUp(t, "resilient")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	for _, how := range []struct {
		name string
		down func()
	}{
		{"app crashed, sidecar up", func() { mesh.KillApp("user") }},
		{"app and sidecar stopped", func() { mesh.StopApp("user") }},
	} {
		t.Run(how.name, func(t *testing.T) {
			how.down()
			t.Cleanup(func() { require.NoError(t, mesh.StartApp(ctx, "user"), mesh.Logs()) })

			start := time.Now()
			r := post(t, "/douyin/user/login/", vals("username", a.Name, "password", "pw-"+a.Name))
			t.Logf("answer while the user service is down: %s after %s", r.Raw, time.Since(start))
			fails(t, r, http.StatusServiceUnavailable, "user service")
			require.True(t, r.Has("token"), "the client keys are still present: %s", r.Raw)

			// The token is checked by the gateway alone: tokens keep working.
			resp, err := http.Get(mesh.GatewayURL() + "/healthz")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			resp.Body.Close()
		})
		// Once the service is back (and the circuit breaker, which opened
		// during the outage, lets a probe through), calls succeed again.
		require.Eventually(t, func() bool {
			r := post(t, "/douyin/user/login/", vals("username", a.Name, "password", "pw-"+a.Name))
			return r.Code() == 0
		}, 45*time.Second, 250*time.Millisecond)
	}
}
