package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/douvo/douvo/internal/testmesh"
)

// mesh is the system under test, shared by the package's tests.
var mesh *testmesh.Mesh

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

	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, ms.Logs())
	}
	return code
}
