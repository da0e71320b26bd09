// Package gateway is DouVo's public edge: the "simple douyin" HTTP API of
// ../shared/CONTRACT.md, served with Fiber. It binds parameters from wherever
// clients put them, authenticates tokens, applies rate limits, and calls the
// services only through its Dapr sidecar, composing their answers into the
// objects clients expect.
package gateway

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/services/relation"
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

// Services are the clients of the services the gateway composes answers
// from. Each calls its service through the gateway's sidecar.
type Services struct {
	Users     *user.Client
	Relations *relation.Client
}

// Gateway serves the public API.
type Gateway struct {
	svc    Services
	tokens *Tokens
	limits Limits
}

// New returns a Gateway on the given services.
func New(svc Services, tokens *Tokens, limits Limits) *Gateway {
	return &Gateway{svc: svc, tokens: tokens, limits: limits}
}

// chain holds the middleware the domain routes pick from.
type chain struct {
	// optional records the viewer when a valid token is present.
	optional fiber.Handler
	// required refuses requests without a valid token.
	required fiber.Handler
	// perUser rate-limits each signed-in user.
	perUser fiber.Handler
	// authLimit rate-limits register and login per address.
	authLimit fiber.Handler
}

// Routes registers the public API on app. Every route answers GET and POST
// alike, with or without the trailing slash, because real clients mix them.
func (g *Gateway) Routes(app *fiber.App) {
	api := app.Group("/douyin", perKey(g.limits.PerIP, time.Minute, clientIP))
	mw := chain{
		optional:  g.tokens.authenticate(false),
		required:  g.tokens.authenticate(true),
		perUser:   perKey(g.limits.PerUser, time.Minute, viewerKey),
		authLimit: perKey(g.limits.Auth, time.Minute, clientIP),
	}
	g.userRoutes(api, mw)
	g.relationRoutes(api, mw)
}

// route registers handlers for both GET and POST on path.
func route(r fiber.Router, path string, handlers ...fiber.Handler) {
	r.Add(fiber.MethodGet, path, handlers...)
	r.Add(fiber.MethodPost, path, handlers...)
}
