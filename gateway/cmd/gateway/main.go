// Command gateway runs DouVo's public HTTP API beside its Dapr sidecar.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"
	_ "time/tzdata" // time zones for TIME_ZONE, on hosts without a zone database too

	"github.com/douvo/douvo/gateway"
	"github.com/douvo/douvo/internal/platform/boot"
	"github.com/douvo/douvo/internal/platform/config"
	"github.com/douvo/douvo/internal/platform/events"
	"github.com/douvo/douvo/internal/platform/web"
	"github.com/douvo/douvo/services/comment"
	"github.com/douvo/douvo/services/favorite"
	"github.com/douvo/douvo/services/message"
	"github.com/douvo/douvo/services/relation"
	"github.com/douvo/douvo/services/user"
	"github.com/douvo/douvo/services/video"
)

// Config is the gateway's configuration.
type Config struct {
	config.Server
	Sidecar config.Sidecar
	Limits  gateway.Limits
	Media   gateway.Media
	// SecretStore is the Dapr secret store holding the token signing key.
	SecretStore string `env:"SECRET_STORE" envDefault:"secretstore"`
	// SigningKeySecret names the secret holding the token signing key.
	SigningKeySecret string `env:"TOKEN_SIGNING_KEY_SECRET" envDefault:"token-signing-key"`
	// TokenTTL is how long an issued token stays valid.
	TokenTTL time.Duration `env:"TOKEN_TTL" envDefault:"168h"`
	// TimeZone is the IANA time zone in which dates are written for
	// clients: a comment's create_date (MM-DD).
	TimeZone string `env:"TIME_ZONE" envDefault:"UTC"`
}

func main() { boot.Main(gateway.AppID, run) }

func run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	env, err := boot.Connect(ctx, gateway.AppID, logger, cfg.Server, cfg.Sidecar)
	if err != nil {
		return err
	}
	defer env.Close()

	secret, err := env.Sidecar.Dapr.GetSecret(ctx, cfg.SecretStore, cfg.SigningKeySecret, nil)
	if err != nil {
		return fmt.Errorf("read token signing key: %w", err)
	}
	tokens, err := gateway.NewTokens([]byte(secret[cfg.SigningKeySecret]), cfg.TokenTTL)
	if err != nil {
		return err
	}
	zone, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return fmt.Errorf("time zone %q: %w", cfg.TimeZone, err)
	}
	gw := gateway.New(gateway.Services{
		Users:     user.NewClient(env.Sidecar),
		Videos:    video.NewClient(env.Sidecar),
		Relations: relation.NewClient(env.Sidecar),
		Messages:  message.NewClient(env.Sidecar),
		Favorites: favorite.NewClient(env.Sidecar),
		Comments:  comment.NewClient(env.Sidecar),
	}, tokens, cfg.Limits, cfg.Media, zone)
	stopPush := context.AfterFunc(ctx, gw.Close)
	defer stopPush()

	app := web.New(web.Options{
		Name:           gateway.AppID,
		Logger:         logger,
		Telemetry:      env.Telemetry,
		RequestTimeout: cfg.RequestTimeout,
		ReadBufferSize: gateway.ReadBufferSize,
		Public:         true,
		Streamed:       gateway.Streamed,
		StreamTimeout:  cfg.Media.UploadTimeout,
		Ready: func(ctx context.Context) error {
			return env.Sidecar.Ready(ctx, cfg.SecretStore, events.Fanout)
		},
	})
	// Event deliveries come from the sidecar alone.
	onlySidecar := web.RequireAppToken(cfg.Sidecar.AppAPIToken)
	app.Use("/dapr", onlySidecar)
	app.Use("/events", onlySidecar)
	events.Mount(app, logger, gw.Subscriptions()...)
	gw.Routes(app)
	return env.Serve(ctx, app)
}
