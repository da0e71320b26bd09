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

	// The user service logs the same trace id as the gateway: the W3C trace
	// context went through both sidecars.
	require.Eventually(t, func() bool {
		for _, app := range []string{"gateway", "user"} {
			raw, err := os.ReadFile(filepath.Join(mesh.Dir(), "logs", app+".log"))
			if err != nil || !strings.Contains(string(raw), `"trace_id":"`+traceID+`"`) {
				return false
			}
		}
		return true
	}, 5*time.Second, 50*time.Millisecond)
}
