// Command comment runs the comment service beside its Dapr sidecar: its
// internal API and the relay of its outbox.
package main

import (
	"context"
	"log/slog"

	"github.com/douvo/douvo/internal/platform/boot"
	"github.com/douvo/douvo/internal/platform/config"
	"github.com/douvo/douvo/internal/platform/events"
	"github.com/douvo/douvo/internal/platform/outbox"
	"github.com/douvo/douvo/services/comment"
	"github.com/douvo/douvo/services/video"
)

// Config is the comment service's configuration.
type Config struct {
	config.Server
	Sidecar config.Sidecar
}

// authorCache is how many video authors the service remembers.
const authorCache = 100_000

func main() { boot.Main(comment.AppID, run) }

func run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	env, err := boot.Connect(ctx, comment.AppID, logger, cfg.Server, cfg.Sidecar)
	if err != nil {
		return err
	}
	defer env.Close()

	dc := env.Sidecar.Dapr
	store := comment.NewDaprStore(dc, comment.StoreName)
	ob := outbox.New(events.NewPublisher(dc), comment.IntentTopic,
		outbox.NewDocuments[comment.Record](dc, comment.StoreName), logger)
	svc := comment.NewService(store, video.NewAuthors(video.NewClient(env.Sidecar), authorCache), ob)

	app := env.App(comment.StoreName, events.PubSub)
	comment.Routes(app, svc)
	events.Mount(app, logger, ob.Subscription())
	return env.Serve(ctx, app)
}
