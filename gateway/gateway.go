// Package gateway is DouVo's public edge: the "simple douyin" HTTP API of
// ../shared/CONTRACT.md, served with Fiber. It binds parameters from wherever
// clients put them, authenticates tokens, applies rate limits, and calls the
// services only through its Dapr sidecar, composing their answers into the
// objects clients expect.
package gateway

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/services/user"
)

// AppID is the Dapr app-id the gateway runs under.
const AppID = "gateway"

// Limits are the gateway's rate limits, in requests per minute. Zero turns a
// limit off.
type Limits struct {
	// PerIP bounds every client address across the whole API.
	PerIP int `env:"RATE_LIMIT_IP_PER_MIN" envDefault:"1200"`
	// PerUser bounds every signed-in user across the whole API.
	PerUser int `env:"RATE_LIMIT_USER_PER_MIN" envDefault:"600"`
	// Auth bounds register and login per client address, against password
	// guessing and mass registration.
	Auth int `env:"RATE_LIMIT_AUTH_PER_MIN" envDefault:"30"`
}

// Gateway serves the public API.
type Gateway struct {
	users  *user.Client
	tokens *Tokens
	limits Limits
}

// New returns a Gateway that reaches the services through their clients.
func New(users *user.Client, tokens *Tokens, limits Limits) *Gateway {
	return &Gateway{users: users, tokens: tokens, limits: limits}
}

// Routes registers the public API on app. Every route answers GET and POST
// alike, with or without the trailing slash, because real clients mix them.
func (g *Gateway) Routes(app *fiber.App) {
	api := app.Group("/douyin", perKey(g.limits.PerIP, time.Minute, clientIP))

	optional := g.tokens.authenticate(false)
	perUser := perKey(g.limits.PerUser, time.Minute, viewerKey)
	authLimit := perKey(g.limits.Auth, time.Minute, clientIP)

	route(api, "/user/register/", authLimit, g.register)
	route(api, "/user/login/", authLimit, g.login)
	route(api, "/user/", optional, perUser, g.userInfo)
}

// route registers handlers for both GET and POST on path.
func route(r fiber.Router, path string, handlers ...fiber.Handler) {
	r.Add(fiber.MethodGet, path, handlers...)
	r.Add(fiber.MethodPost, path, handlers...)
}
