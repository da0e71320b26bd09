package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/douvo/douvo/internal/platform/telemetry"
)

// streamingApp serves /upload streamed (answering how many bytes it read)
// and /echo buffered, with a body limit of 1 KiB, on a real listener: the
// server's streaming only shows over a connection.
func streamingApp(t *testing.T) string {
	t.Helper()
	tel, err := telemetry.New(context.Background(), "test", "")
	require.NoError(t, err)
	app := New(Options{
		Name: "test", Logger: slog.New(slog.DiscardHandler), Telemetry: tel, BodyLimit: 1 << 10,
		Streamed: func(c *fiber.Ctx) bool { return c.Path() == "/upload" },
	})
	app.Post("/upload", func(c *fiber.Ctx) error {
		body := StreamBody(c)
		defer body.Finish(1 << 10)
		n, err := io.Copy(io.Discard, body)
		if err != nil {
			return err
		}
		// Reading past the end must not wait for the next request.
		k, err := body.Read(make([]byte, 8))
		return c.SendString(fmt.Sprintf("%d %d %v", n, k, err))
	})
	app.Post("/echo", func(c *fiber.Ctx) error { return c.Send(c.Body()) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// chunked returns a body of n bytes whose length the client does not know,
// so that it is sent chunked.
func chunked(n int) io.Reader {
	return io.MultiReader(strings.NewReader(strings.Repeat("a", n/2)),
		strings.NewReader(strings.Repeat("b", n-n/2)))
}

func TestStreamedAndBufferedBodies(t *testing.T) {
	t.Parallel()
	base := streamingApp(t)
	client := &http.Client{Timeout: 5 * time.Second}
	post := func(path string, body io.Reader) (int, string) {
		t.Helper()
		resp, err := client.Post(base+path, "application/octet-stream", body)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}

	cases := []struct {
		name   string
		path   string
		body   func() io.Reader
		status int
		want   string
	}{
		{"streamed, chunked, far past the limit", "/upload", func() io.Reader { return chunked(3 << 20) },
			200, fmt.Sprintf("%d 0 EOF", 3<<20)},
		{"streamed, known length", "/upload", func() io.Reader { return bytes.NewReader(make([]byte, 5000)) },
			200, "5000 0 EOF"},
		{"buffered, within the limit, chunked", "/echo", func() io.Reader { return chunked(1000) },
			200, strings.Repeat("a", 500) + strings.Repeat("b", 500)},
		// A refusal travels between services as HTTP 200 with its code.
		{"buffered, chunked past the limit", "/echo", func() io.Reader { return chunked(5000) },
			200, `"status_code":413,"status_msg":"request body is larger than the server accepts"`},
		{"buffered, announced past the limit", "/echo", func() io.Reader { return bytes.NewReader(make([]byte, 5000)) },
			200, `"status_code":413,"status_msg":"request body is larger than the server accepts"`},
	}
	for _, c := range cases {
		// Each case twice: the connection must stay usable after the first.
		for range 2 {
			status, body := post(c.path, c.body())
			assert.Equal(t, c.status, status, c.name)
			assert.Contains(t, body, c.want, c.name)
		}
	}
}
