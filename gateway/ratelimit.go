package gateway

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"github.com/douvo/douvo/internal/platform/apierr"
)

var errRateLimited = apierr.New(apierr.TooManyRequests,
	"too many requests: slow down and retry in a minute")

// perKey limits requests to max per window for each key, with a sliding
// window. A zero max disables the limit; an empty key is not limited.
func perKey(max int, window time.Duration, key func(*fiber.Ctx) string) fiber.Handler {
	if max <= 0 {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return limiter.New(limiter.Config{
		Max:               max,
		Expiration:        window,
		KeyGenerator:      key,
		Next:              func(c *fiber.Ctx) bool { return key(c) == "" },
		LimitReached:      func(*fiber.Ctx) error { return errRateLimited },
		LimiterMiddleware: limiter.SlidingWindow{},
	})
}

func clientIP(c *fiber.Ctx) string { return "ip:" + c.IP() }

func viewerKey(c *fiber.Ctx) string {
	if id := viewer(c); id != 0 {
		return "user:" + strconv.FormatInt(id, 10)
	}
	return ""
}
