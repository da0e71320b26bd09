// Command message runs the chat service beside its Dapr sidecar: its
// internal API, the per-user chat actors and the consumer of sent messages.
package main

import (
	"context"
	"log/slog"

	"github.com/douvo/douvo/internal/platform/actors"
	"github.com/douvo/douvo/internal/platform/boot"
	"github.com/douvo/douvo/internal/platform/config"
	"github.com/douvo/douvo/internal/platform/events"
	"github.com/douvo/douvo/services/message"
	"github.com/douvo/douvo/services/user"
)

// Config is the message service's configuration.
type Config struct {
	config.Server
	Sidecar config.Sidecar
}

func main() { boot.Main(message.AppID, run) }

func run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	env, err := boot.Connect(ctx, message.AppID, logger, cfg.Server, cfg.Sidecar)
	if err != nil {
		return err
	}
	defer env.Close()

	dc := env.Sidecar.Dapr
	svc := message.NewService(message.NewActorChats(dc), user.NewClient(env.Sidecar),
		events.NewPublisher(dc), message.NewDaprIDs(dc, message.StoreName))
	host := actors.NewHost(actors.DefaultConfig())
	host.Register(message.NewUserChatFactory(dc))

	app := env.App(message.StoreName, events.PubSub)
	host.Mount(app)
	message.Routes(app, svc)
	events.Mount(app, logger, message.Subscriptions(svc)...)
	return env.Serve(ctx, app)
}
