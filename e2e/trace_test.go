package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTraceContextCrossesTheMesh(t *testing.T) {
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, err := http.NewRequest(http.MethodPost, mesh.GatewayURL()+"/douyin/user/register/?"+
		vals("username", uniqueName("trace"), "password", "pw").Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	ok(t, do(t, req))

	// An instance of the user service logs the same trace id as the
	// gateway: the W3C trace context went through both sidecars.
	logged := func(name string) bool {
		raw, err := os.ReadFile(filepath.Join(mesh.Dir(), "logs", name+".log"))
		return err == nil && strings.Contains(string(raw), `"trace_id":"`+traceID+`"`)
	}
	require.Eventually(t, func() bool {
		if !logged("gateway") {
			return false
		}
		for _, in := range mesh.Instances("user") {
			if logged(in.Name) {
				return true
			}
		}
		return false
	}, 5*time.Second, 50*time.Millisecond)
}
