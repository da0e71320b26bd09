package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/douvo/douvo/internal/platform/telemetry"
	"github.com/douvo/douvo/internal/platform/web"
)

func TestPerKeyLimitsEachKeySeparately(t *testing.T) {
	t.Parallel()
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(fiber.StatusTooManyRequests).JSON(fiber.Map{"status_msg": err.Error()})
	}})
	app.Get("/", perKey(3, time.Minute, func(c *fiber.Ctx) string { return c.Get("X-Client") }),
		func(c *fiber.Ctx) error { return c.SendString("ok") })

	send := func(client string) int {
		req := httptest.NewRequest(fiber.MethodGet, "/", nil)
		req.Header.Set("X-Client", client)
		resp, err := app.Test(req)
		require.NoError(t, err)
		if resp.StatusCode == fiber.StatusTooManyRequests {
			var body map[string]string
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			assert.Contains(t, body["status_msg"], "too many requests")
		}
		return resp.StatusCode
	}
	for range 3 {
		assert.Equal(t, fiber.StatusOK, send("a"))
	}
	assert.Equal(t, fiber.StatusTooManyRequests, send("a"), "the fourth call of one key is refused")
	assert.Equal(t, fiber.StatusOK, send("b"), "other keys keep their own budget")
	for range 10 {
		assert.Equal(t, fiber.StatusOK, send(""), "an empty key is not limited")
	}
}

func TestPerKeyZeroDisables(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Get("/", perKey(0, time.Minute, clientIP), func(c *fiber.Ctx) error { return c.SendString("ok") })
	for range 20 {
		resp, err := app.Test(httptest.NewRequest(fiber.MethodGet, "/", nil))
		require.NoError(t, err)
		assert.Equal(t, fiber.StatusOK, resp.StatusCode)
	}
}

// TestRoutesApplyTheirLimits checks the wiring of the limits on real routes:
// register and login share the stricter per-address budget, and their
// refusals keep the keys clients read unconditionally. The requests lack a
// password, so they are refused before any service is called.
func TestRoutesApplyTheirLimits(t *testing.T) {
	t.Parallel()
	tel, err := telemetry.New(context.Background(), "test", "")
	require.NoError(t, err)
	app := web.New(web.Options{Name: "gateway", Logger: slog.New(slog.DiscardHandler),
		Telemetry: tel, Public: true})
	tokens, err := NewTokens([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	require.NoError(t, err)
	New(Services{}, tokens, Limits{PerIP: 5, Auth: 2}, Media{}, nil).Routes(app)

	send := func(target string) (int, map[string]any) {
		req := httptest.NewRequest(fiber.MethodPost, target, nil)
		resp, err := app.Test(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		return resp.StatusCode, body
	}
	for _, path := range []string{"/douyin/user/register/", "/douyin/user/login/"} {
		status, body := send(path + "?username=ada")
		assert.Equal(t, fiber.StatusBadRequest, status, "within the budget: %v", body)
		assert.Contains(t, body, "token")
	}
	status, body := send("/douyin/user/register/?username=ada")
	assert.Equal(t, fiber.StatusTooManyRequests, status, "the third auth call of one address: %v", body)
	assert.Contains(t, body["status_msg"], "too many requests")
	assert.Equal(t, 0.0, body["user_id"], "the refusal keeps the client's keys")
	assert.Equal(t, "", body["token"])

	for range 2 {
		status, _ = send("/douyin/feed/?latest_time=x")
		assert.Equal(t, fiber.StatusBadRequest, status, "other routes keep the address's wider budget")
	}
	status, _ = send("/douyin/feed/?latest_time=x")
	assert.Equal(t, fiber.StatusTooManyRequests, status, "the sixth call of one address")
}
