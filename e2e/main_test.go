package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/douvo/douvo/internal/testmesh"
)

// mesh is the system under test, shared by the package's tests.
var mesh *testmesh.Mesh

// freshFeed is the feed's answer before any test ran: what a client sees on a
// fresh deployment with an empty database.
var freshFeed struct {
	status int
	body   []byte
	err    error
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	started := time.Now()
	ms, err := testmesh.Start(ctx, testmesh.Options{Env: map[string]string{
		// Rate limits are covered by their own tests; here they would only
		// throttle the suite, which sends everything from one address.
		"RATE_LIMIT_IP_PER_MIN":   "0",
		"RATE_LIMIT_USER_PER_MIN": "0",
		"RATE_LIMIT_AUTH_PER_MIN": "0",
	}})
	if ms != nil {
		defer ms.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "start mesh:", err)
		return 1
	}
	fmt.Printf("mesh (profile %s) ready in %s at %s\n", ms.Profile(),
		time.Since(started).Round(time.Millisecond), ms.Dir())
	mesh = ms
	freshFeed.status, freshFeed.body, freshFeed.err = rawGet(ms.GatewayURL() + "/douyin/feed/")

	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, ms.Logs())
	}
	return code
}

// rawGet fetches url and returns its status and body.
func rawGet(url string) (int, []byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}
