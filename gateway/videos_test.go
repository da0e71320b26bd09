package gateway

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMediaURLsStartWithTheConfiguredBaseURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, configured, host, want string
	}{
		{"configured", "https://media.douvo.example/", "10.0.0.7:8080", "https://media.douvo.example"},
		{"from the request", "", "192.168.1.20:8080", "http://192.168.1.20:8080"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := &Gateway{media: Media{PublicBaseURL: c.configured}}
			app := fiber.New()
			app.Get("/", func(ctx *fiber.Ctx) error { return ctx.SendString(g.baseURL(ctx)) })
			req := httptest.NewRequest(fiber.MethodGet, "http://"+c.host+"/", nil)
			resp, err := app.Test(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(body))
		})
	}
}

func TestStreamedSelectsOnlyUploads(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.All("/*", func(c *fiber.Ctx) error {
		if Streamed(c) {
			return c.SendString("streamed")
		}
		return c.SendString("buffered")
	})
	for path, want := range map[string]string{
		"/douyin/publish/action/": "streamed",
		"/douyin/publish/action":  "streamed",
		"/douyin/publish/list/":   "buffered",
		"/douyin/feed/":           "buffered",
	} {
		resp, err := app.Test(httptest.NewRequest(fiber.MethodPost, path, nil))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, want, string(body), path)
	}
}
