// Command user runs the user service beside its Dapr sidecar.
package main

import (
	"context"
	"log/slog"

	"github.com/douvo/douvo/internal/platform/boot"
	"github.com/douvo/douvo/internal/platform/config"
	"github.com/douvo/douvo/services/user"
)

// Config is the user service's configuration.
type Config struct {
	config.Server
	Sidecar config.Sidecar
}

func main() { boot.Main(user.AppID, run) }

func run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	env, err := boot.Connect(ctx, user.AppID, logger, cfg.Server, cfg.Sidecar)
	if err != nil {
		return err
	}
	defer env.Close()

	svc := user.NewService(user.NewDaprStore(env.Sidecar.Dapr, user.StoreName))

	app := env.App(user.StoreName)
	user.Routes(app, svc)
	return env.Serve(ctx, app)
}
