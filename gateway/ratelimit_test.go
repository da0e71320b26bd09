package gateway

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
