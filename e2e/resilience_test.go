package e2e

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"

	"github.com/douvo/douvo/internal/platform/config"
	"github.com/douvo/douvo/internal/platform/sidecar"
	"github.com/douvo/douvo/services/user"
)

// TestAServiceThatIsDownFailsFastAndComesBack stops every instance of the
// user service, checks that the gateway answers calls that need it with a
// clear envelope while the rest keeps answering, then starts them again and
// checks that calls succeed without restarting anything else. It changes the shared mesh, so it
// must not run in parallel with other tests.
func TestAServiceThatIsDownFailsFastAndComesBack(t *testing.T) {
	a, b := signUp(t, "resilient"), signUp(t, "resilient")
	video := publishClip(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	for _, how := range []struct {
		name string
		down func(instance string)
	}{
		{"app crashed, sidecar up", mesh.KillApp},
		{"app and sidecar stopped", mesh.StopApp},
	} {
		t.Run(how.name, func(t *testing.T) {
			for _, in := range mesh.Instances("user") {
				how.down(in.Name)
				t.Cleanup(func() { require.NoError(t, mesh.StartApp(ctx, in.Name), mesh.Logs()) })
			}

			start := time.Now()
			r := post(t, "/douyin/user/login/", vals("username", a.Name, "password", "pw-"+a.Name))
			t.Logf("answer while the user service is down: %s after %s", r.Raw, time.Since(start))
			fails(t, r, http.StatusServiceUnavailable, "user service")
			require.True(t, r.Has("token"), "the client keys are still present: %s", r.Raw)

			// The token is checked by the gateway alone: tokens keep working,
			// and so does whatever needs no account data.
			resp, err := http.Get(mesh.GatewayURL() + "/healthz")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			resp.Body.Close()
			ok(t, likeAction(t, a, video, true))
			ok(t, get(t, "/douyin/message/chat/", vals("token", a.Token, "to_user_id", itoa(b.ID))))
		})
		// Once the service is back (and the circuit breaker, which opened
		// during the outage, lets a probe through), calls succeed again.
		require.Eventually(t, func() bool {
			r := post(t, "/douyin/user/login/", vals("username", a.Name, "password", "pw-"+a.Name))
			return r.Code() == 0
		}, 45*time.Second, 250*time.Millisecond)
	}
}

// TestNoLikeOrMessageIsLostWhileTheBrokerIsDown stops the server that
// carries pub/sub, likes a video and sends messages the way a client does
// (retrying a call that failed), starts the server again, and checks that
// every like the clients saw accepted is counted exactly once and every
// accepted message is in both histories exactly once. It changes the shared
// mesh, so it must not run in parallel with other tests.
func TestNoLikeOrMessageIsLostWhileTheBrokerIsDown(t *testing.T) {
	a, b := signUp(t, "outage"), signUp(t, "outage")
	fans := signUpMany(t, "outagefan", 4)
	video := publishClip(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	broker := mesh.PubSubServer()
	require.NotEmpty(t, broker)
	mesh.StopServer(broker)
	restarted := make(chan error, 1)
	go func() {
		time.Sleep(3 * time.Second)
		restarted <- mesh.StartServer(ctx, broker)
	}()

	start := time.Now()
	for i, fan := range fans {
		require.Eventually(t, func() bool { return tryLike(fan, video, true) == nil },
			2*time.Minute, 500*time.Millisecond, "a like must succeed once the broker is back")
		if i == 0 {
			t.Logf("first like accepted %s after the %s server stopped", time.Since(start), broker)
		}
	}

	const messages = 5
	var sent []int64
	for i := range messages {
		content := "during the outage " + strconv.Itoa(i)
		var m chatMessage
		require.Eventually(t, func() bool {
			var err error
			m, err = trySend(a, b.ID, content)
			return err == nil
		}, 2*time.Minute, 500*time.Millisecond, "a send must succeed once the broker is back")
		sent = append(sent, m.ID)
	}
	require.NoError(t, <-restarted)

	for _, viewer := range []struct {
		acct account
		peer int64
	}{{a, b.ID}, {b, a.ID}} {
		got := history(t, viewer.acct, viewer.peer, 0)
		require.Equal(t, sent, messageIDs(got), "every accepted message once, in order, for user %d", viewer.acct.ID)
	}
	exps := []expectation{
		videoCounts(b.ID, video, int64(len(fans)), 0),
		userCounts("", b.ID, 0, int64(len(fans))),
	}
	for _, fan := range fans {
		exps = append(exps, userCounts("", fan.ID, 1, 0))
	}
	settleAfterOutage(t, "like counters after the outage", exps...)
}

// TestCallsGivenUpOnDoNotCrashTheSidecar has many callers give up on their
// calls through the gateway's sidecar after a moment, most of them while
// the call is in flight. A Dapr 1.16 sidecar whose caller cancels an
// invocation in flight may crash when the answer arrives
// (dapr/dapr#10371); the platform's client never cancels one, so the
// sidecar must still be the same process, and answer, afterwards. With a
// client that cancelled such calls, about one run in two crashed it.
func TestCallsGivenUpOnDoNotCrashTheSidecar(t *testing.T) {
	a := signUp(t, "impatient")
	gw := mesh.App("gateway")
	sc, err := sidecar.Connect(context.Background(), config.Sidecar{
		HTTPPort: gw.DaprHTTPPort, GRPCPort: gw.DaprGRPCPort,
		APIToken: mesh.DaprAPIToken(), WaitTimeout: 30 * time.Second,
	}, propagation.TraceContext{})
	require.NoError(t, err)
	defer sc.Close()
	users := user.NewClient(sc)
	before := mesh.Processes()["gateway.daprd"]

	// Callers give up around the time answers come: some before the call
	// reaches the service, some while the answer is on its way back.
	var typical time.Duration
	for range 20 {
		start := time.Now()
		_, err := users.Batch(context.Background(), []int64{a.ID})
		require.NoError(t, err)
		typical = max(typical, time.Since(start))
	}
	var wg sync.WaitGroup
	var given, answered atomic.Int64
	stop := time.Now().Add(3 * time.Second)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(stop); n++ {
				ctx, cancel := context.WithTimeout(context.Background(),
					typical*time.Duration(20+(w*37+n*53)%140)/100)
				if _, err := users.Batch(ctx, []int64{a.ID}); err != nil {
					given.Add(1)
				} else {
					answered.Add(1)
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d calls given up on, %d answered in time", given.Load(), answered.Load())
	require.Positive(t, given.Load(), "some calls must be given up on for the test to mean anything")

	// The calls given up on finish in the background, thousands of them at
	// once: the user service may fall behind, and the gateway's circuit
	// breaker open for a while. Once they are done, calls succeed again.
	streak := 0
	require.Eventually(t, func() bool {
		found, err := users.Batch(context.Background(), []int64{a.ID})
		if err != nil || len(found) != 1 {
			streak = 0
			return false
		}
		streak++
		return streak >= 10
	}, time.Minute, 100*time.Millisecond, "the sidecar answers again")
	require.Equal(t, before, mesh.Processes()["gateway.daprd"], "the gateway's sidecar is the same process")
}
