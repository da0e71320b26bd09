// Package boot is the start-up sequence shared by every DouVo binary: load
// the typed config, build the logger, take the signal context, connect the
// telemetry and the sidecar, and hand over to the binary's own run function.
package boot

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/config"
	"github.com/douvo/douvo/internal/platform/sidecar"
	"github.com/douvo/douvo/internal/platform/telemetry"
	"github.com/douvo/douvo/internal/platform/web"
)

// Leveled is implemented by configurations that carry a log level;
// config.Server does.
type Leveled interface {
	Level() slog.Level
}

// Main runs a binary: it loads C from the environment, logs it with secrets
// masked, and calls run with a context cancelled on SIGINT or SIGTERM. It
// exits non-zero when loading or run fails.
func Main[C Leveled](name string, run func(ctx context.Context, cfg C, logger *slog.Logger) error) {
	cfg, err := config.Load[C]()
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("configuration rejected",
			slog.String("service", name), slog.String("error", err.Error()))
		os.Exit(2)
	}
	logger := telemetry.NewLogger(os.Stdout, name, cfg.Level())
	logger.Info("starting", config.LogAttrs(cfg)...)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("stopped with error", slog.String("error", err.Error()))
		stop()
		os.Exit(1)
	}
	logger.Info("stopped")
}

// Env is what a service needs from its surroundings once started.
type Env struct {
	// Name is the binary's name.
	Name string
	// Logger is the binary's logger.
	Logger *slog.Logger
	// Telemetry is the binary's tracer and metrics registry.
	Telemetry *telemetry.Telemetry
	// Sidecar is the connection to the Dapr sidecar.
	Sidecar *sidecar.Sidecar

	server config.Server
	dapr   config.Sidecar
}

// Connect sets up telemetry and waits for the sidecar.
func Connect(ctx context.Context, name string, logger *slog.Logger, server config.Server,
	dapr config.Sidecar,
) (*Env, error) {
	tel, err := telemetry.New(ctx, name, server.OTLPEndpoint)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	sc, err := sidecar.Connect(ctx, dapr, tel.Propagator)
	if err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	logger.Info("sidecar connected", slog.Int("dapr_http_port", dapr.HTTPPort))
	return &Env{Name: name, Logger: logger, Telemetry: tel, Sidecar: sc, server: server, dapr: dapr}, nil
}

// Close releases the sidecar connection and flushes telemetry.
func (e *Env) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Sidecar.Close(); err != nil {
		e.Logger.Warn("close sidecar", slog.String("error", err.Error()))
	}
	if err := e.Telemetry.Shutdown(ctx); err != nil {
		e.Logger.Warn("close telemetry", slog.String("error", err.Error()))
	}
}

// App returns a Fiber app for an internal service: plain HTTP statuses, the
// app API token enforced, and readiness tied to the sidecar and the named
// components.
func (e *Env) App(components ...string) *fiber.App {
	return web.New(e.Options(components...))
}

// Options are the web options App uses, for a service that changes some of
// them (a larger body limit, streamed uploads) before calling web.New.
func (e *Env) Options(components ...string) web.Options {
	return web.Options{
		Name:           e.Name,
		Logger:         e.Logger,
		Telemetry:      e.Telemetry,
		RequestTimeout: e.server.RequestTimeout,
		AppAPIToken:    e.dapr.AppAPIToken,
		Ready: func(ctx context.Context) error {
			return e.Sidecar.Ready(ctx, components...)
		},
	}
}

// Serve serves app on the configured address until ctx is done.
func (e *Env) Serve(ctx context.Context, app *fiber.App) error {
	e.Logger.Info("listening", slog.String("addr", e.server.Addr()))
	return web.Serve(ctx, app, e.server.Addr(), e.server.ShutdownTimeout)
}
