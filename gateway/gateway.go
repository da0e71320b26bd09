// Package gateway is DouVo's public edge: the "simple douyin" HTTP API of
// ../shared/CONTRACT.md, served with Fiber. It binds parameters from wherever
// clients put them, authenticates tokens, applies rate limits, and calls the
// services only through its Dapr sidecar, composing their answers into the
// objects clients expect.
package gateway

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/services/comment"
	"github.com/douvo/douvo/services/favorite"
	"github.com/douvo/douvo/services/message"
	"github.com/douvo/douvo/services/relation"
	"github.com/douvo/douvo/services/user"
	"github.com/douvo/douvo/services/video"
)

// AppID is the Dapr app-id the gateway runs under.
const AppID = "gateway"

// ReadBufferSize bounds a request's line and headers. Clients put every
// parameter in the query string, a chat message of 1000 characters too: up
// to 4 bytes each in UTF-8, 12 once percent-encoded.
const ReadBufferSize = 16 << 10

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
	Videos    *video.Client
	Relations *relation.Client
	Messages  *message.Client
	Favorites *favorite.Client
	Comments  *comment.Client
}

// Media configures video uploads and the delivery of media files.
type Media struct {
	// PublicBaseURL is the scheme and host that play_url and cover_url start
	// with, as clients reach the gateway (https://douvo.example). Empty means
	// the scheme and host of each request.
	PublicBaseURL string `env:"PUBLIC_BASE_URL"`
	// MaxUpload is the largest accepted video file in bytes. The sidecars'
	// maxBodySize in dapr.yaml must be at least this large.
	MaxUpload int64 `env:"MAX_UPLOAD_BYTES" envDefault:"104857600"`
	// UploadTimeout bounds one upload, and the writing of one media answer.
	UploadTimeout time.Duration `env:"UPLOAD_TIMEOUT" envDefault:"10m"`
	// SpoolDir holds uploads while they arrive; empty means the system's
	// temporary folder.
	SpoolDir string `env:"UPLOAD_SPOOL_DIR"`
}

// Gateway serves the public API.
type Gateway struct {
	svc    Services
	tokens *Tokens
	limits Limits
	media  Media
	zone   *time.Location
	hub    *hub
}

// New returns a Gateway on the given services that writes dates for
// clients (a comment's create_date) in zone, UTC when nil. Mount its
// Subscriptions beside its Routes, and Close it when shutting down.
func New(svc Services, tokens *Tokens, limits Limits, media Media, zone *time.Location) *Gateway {
	if media.MaxUpload <= 0 {
		media.MaxUpload = video.DefaultMaxUpload
	}
	if zone == nil {
		zone = time.UTC
	}
	return &Gateway{svc: svc, tokens: tokens, limits: limits, media: media, zone: zone, hub: newHub()}
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
	g.videoRoutes(api, mw)
	g.favoriteRoutes(api, mw)
	g.commentRoutes(api, mw)
	g.messageRoutes(api, mw)
	g.mediaRoutes(app)
	g.relationRoutes(api, mw)
}

// route registers handlers for both GET and POST on path.
func route(r fiber.Router, path string, handlers ...fiber.Handler) {
	r.Add(fiber.MethodGet, path, handlers...)
	r.Add(fiber.MethodPost, path, handlers...)
}
