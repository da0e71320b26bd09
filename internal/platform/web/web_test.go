package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/telemetry"
)

var errTaken = apierr.New(apierr.Conflict, "name is taken")

func newTestApp(t *testing.T, public bool, logs io.Writer, ready func(context.Context) error) *fiber.App {
	t.Helper()
	tel, err := telemetry.New(context.Background(), "test", "")
	require.NoError(t, err)
	app := New(Options{
		Name: "test", Logger: slog.New(slog.NewJSONHandler(logs, nil)), Telemetry: tel,
		Public: public, BodyLimit: 1024, AppAPIToken: "app-token", Ready: ready,
	})
	app.Get("/ok", func(c *fiber.Ctx) error { return c.JSON(OK()) })
	app.Get("/taken", func(c *fiber.Ctx) error { return fmt.Errorf("register: %w", errTaken) })
	app.Get("/invalid", func(*fiber.Ctx) error { return apierr.New(apierr.Invalid, "id is required") })
	app.Get("/fields", func(*fiber.Ctx) error { return WithFields(errTaken, fiber.Map{"user_id": 0}) })
	app.Get("/internal", func(*fiber.Ctx) error { return errors.New("db password is hunter2") })
	app.Get("/panic", func(*fiber.Ctx) error { panic("boom") })
	app.Post("/echo", func(c *fiber.Ctx) error { return c.Send(c.Body()) })
	return app
}

type answer struct {
	status int
	body   map[string]any
	header http.Header
}

func send(t *testing.T, app *fiber.App, method, path string, body io.Reader, token string) answer {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if token != "" {
		req.Header.Set("dapr-api-token", token)
	}
	resp, err := app.Test(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return answer{status: resp.StatusCode, body: m, header: resp.Header}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		path             string
		public, internal int
		code             float64
		msg              string
	}{
		{"/ok", 200, 200, 0, "success"},
		{"/taken", 200, 200, 409, "name is taken"},
		{"/invalid", 400, 200, 400, "id is required"},
		{"/fields", 200, 200, 409, "name is taken"},
		{"/internal", 500, 500, 500, "internal error"},
		{"/panic", 500, 500, 500, "internal error"},
		{"/nowhere", 404, 404, 404, "no such endpoint: check the path"},
	}
	for _, tc := range cases {
		for _, public := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s public=%v", tc.path, public), func(t *testing.T) {
				t.Parallel()
				app := newTestApp(t, public, io.Discard, nil)
				a := send(t, app, fiber.MethodGet, tc.path, nil, "app-token")
				want := tc.internal
				if public {
					want = tc.public
				}
				assert.Equal(t, want, a.status)
				assert.Equal(t, tc.code, a.body["status_code"])
				assert.Equal(t, tc.msg, a.body["status_msg"])
				assert.NotEmpty(t, a.header.Get(fiber.HeaderXRequestID))
				assert.Equal(t, fiber.MIMEApplicationJSON, a.header.Get(fiber.HeaderContentType))
			})
		}
	}
}

func TestWithFieldsAddsKeys(t *testing.T) {
	t.Parallel()
	a := send(t, newTestApp(t, true, io.Discard, nil), fiber.MethodGet, "/fields", nil, "app-token")
	assert.Contains(t, a.body, "user_id")
}

func TestAppTokenIsRequiredExceptOnProbes(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, false, io.Discard, nil)
	assert.Equal(t, 401.0, send(t, app, fiber.MethodGet, "/ok", nil, "").body["status_code"])
	assert.Equal(t, 401.0, send(t, app, fiber.MethodGet, "/ok", nil, "wrong").body["status_code"])
	assert.Equal(t, 200, send(t, app, fiber.MethodGet, "/ok", nil, "app-token").status)
	for _, probe := range []string{"/healthz", "/readyz", "/metrics"} {
		req := httptest.NewRequest(fiber.MethodGet, probe, nil)
		resp, err := app.Test(req)
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode, probe)
	}
}

func TestReadinessFollowsTheCheck(t *testing.T) {
	t.Parallel()
	down := newTestApp(t, false, io.Discard, func(context.Context) error { return errors.New("sidecar down") })
	a := send(t, down, fiber.MethodGet, "/readyz", nil, "")
	assert.Equal(t, 503, a.status)
	assert.Equal(t, "sidecar down", a.body["reason"])
	assert.Equal(t, 200, send(t, down, fiber.MethodGet, "/healthz", nil, "").status,
		"liveness does not depend on readiness")
}

func TestBodyLimitAnswersWithTheEnvelope(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, true, io.Discard, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/echo",
		strings.NewReader(strings.Repeat("x", 2048)))
	require.NoError(t, err)
	req.Header.Set("dapr-api-token", "app-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, 413, resp.StatusCode)
	assert.Contains(t, body["status_msg"], "larger than the server accepts")
}

func TestAccessLogCarriesIDsAndKeepsInternalsOutOfAnswers(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	app := newTestApp(t, true, &logs, nil)
	a := send(t, app, fiber.MethodGet, "/internal", nil, "app-token")
	assert.NotContains(t, fmt.Sprint(a.body), "hunter2")

	var line map[string]any
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line))
	assert.Equal(t, "ERROR", line["level"])
	assert.Equal(t, "/internal", line["route"])
	assert.NotEmpty(t, line["request_id"])
	assert.Len(t, line["trace_id"], 32)
	assert.Contains(t, line["error"], "hunter2", "the log keeps the cause")
}

func TestTraceContextIsContinued(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	app := newTestApp(t, false, &logs, nil)
	req := httptest.NewRequest(fiber.MethodGet, "/ok", nil)
	req.Header.Set("dapr-api-token", "app-token")
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	_, err := app.Test(req)
	require.NoError(t, err)
	assert.Contains(t, logs.String(), `"trace_id":"0af7651916cd43dd8448eb211c80319c"`)
}

func TestMetricsCountRequestsPerRoute(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, false, io.Discard, nil)
	send(t, app, fiber.MethodGet, "/taken", nil, "app-token")
	resp, err := app.Test(httptest.NewRequest(fiber.MethodGet, "/metrics", nil))
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(raw), `http_requests_total{method="GET",route="/taken",status="200"} 1`)
}

// TestIdleConnectionsWaitAndSlowBodiesDoNot opens two connections to an app
// whose requests must arrive within 200 ms once started: one that sends
// nothing is left open well past that, since a server answering it with an
// unasked-for 408 fails whatever request its client sends at that moment;
// one that stops in the middle of a body is cut off.
func TestIdleConnectionsWaitAndSlowBodiesDoNot(t *testing.T) {
	t.Parallel()
	tel, err := telemetry.New(context.Background(), "test", "")
	require.NoError(t, err)
	app := New(Options{Name: "test", Logger: slog.New(slog.DiscardHandler), Telemetry: tel,
		RequestTimeout: 100 * time.Millisecond})
	app.Post("/echo", func(c *fiber.Ctx) error { return c.Send(c.Body()) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	idle, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer idle.Close()
	slow, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer slow.Close()
	_, err = fmt.Fprint(slow, "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nonly ten b")
	require.NoError(t, err)

	require.NoError(t, slow.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadAll(slow)
	require.NoError(t, err, "the slow body is cut off, not left hanging")

	require.NoError(t, idle.SetReadDeadline(time.Now().Add(time.Second)))
	n, err := idle.Read(make([]byte, 64))
	assert.Zero(t, n, "nothing is sent on a connection that asked nothing")
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "the idle connection is still open: %v", err)
}
