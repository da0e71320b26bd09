// Command relation runs the relation service beside its Dapr sidecar.
package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/douvo/douvo/internal/platform/boot"
	"github.com/douvo/douvo/internal/platform/config"
	"github.com/douvo/douvo/internal/platform/events"
	"github.com/douvo/douvo/services/relation"
	"github.com/douvo/douvo/services/user"
)

// Config is the relation service's configuration.
type Config struct {
	config.Server
	Sidecar config.Sidecar
}

func main() { boot.Main(relation.AppID, run) }

func run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	env, err := boot.Connect(ctx, relation.AppID, logger, cfg.Server, cfg.Sidecar)
	if err != nil {
		return err
	}
	defer env.Close()

	store := relation.NewDaprStore(env.Sidecar.Dapr, relation.StoreName)
	relay := relation.NewRelay(store, events.NewPublisher(env.Sidecar.Dapr), logger)
	svc := relation.NewService(store, user.NewClient(env.Sidecar), relay)

	app := env.App(relation.StoreName, events.PubSub)
	relation.Routes(app, svc)

	// Events committed but not yet published when the relay stops stay in
	// the outbox; the next start publishes them.
	relayCtx, stopRelay := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { relay.Run(relayCtx) })
	defer wg.Wait()
	defer stopRelay()

	return env.Serve(ctx, app)
}
