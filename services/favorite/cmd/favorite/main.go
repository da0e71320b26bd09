// Command favorite runs the like service beside its Dapr sidecar: its
// internal API, the relay of its outbox and the consumer of its own like
// events, which keeps the users' like counters.
package main

import (
	"context"
	"log/slog"

	"github.com/douvo/douvo/internal/platform/boot"
	"github.com/douvo/douvo/internal/platform/config"
	"github.com/douvo/douvo/internal/platform/events"
	"github.com/douvo/douvo/internal/platform/outbox"
	"github.com/douvo/douvo/services/favorite"
	"github.com/douvo/douvo/services/video"
)

// Config is the like service's configuration.
type Config struct {
	config.Server
	Sidecar config.Sidecar
}

// authorCache is how many video authors the service remembers.
const authorCache = 100_000

func main() { boot.Main(favorite.AppID, run) }

func run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	env, err := boot.Connect(ctx, favorite.AppID, logger, cfg.Server, cfg.Sidecar)
	if err != nil {
		return err
	}
	defer env.Close()

	dc := env.Sidecar.Dapr
	store := favorite.NewDaprStore(dc, favorite.StoreName)
	ob := outbox.New(events.NewPublisher(dc), favorite.IntentTopic,
		outbox.NewDocuments[favorite.Record](dc, favorite.StoreName), logger)
	svc := favorite.NewService(store, video.NewAuthors(video.NewClient(env.Sidecar), authorCache), ob)

	app := env.App(favorite.StoreName, events.PubSub)
	favorite.Routes(app, svc)
	events.Mount(app, logger, favorite.Subscriptions(svc, ob.Subscription())...)
	return env.Serve(ctx, app)
}
