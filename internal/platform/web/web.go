// Package web builds the Fiber apps every DouVo binary serves, with the same
// plumbing everywhere: request ids, a request context carrying the deadline
// and the W3C trace, panic recovery, one error handler that maps apierr kinds
// to the client envelope, a JSON access log, Prometheus metrics per route,
// liveness and readiness probes, and graceful shutdown.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"

	"github.com/douvo/douvo/internal/platform/telemetry"
)

// DefaultBodyLimit is the request body limit when Options.BodyLimit is zero.
const DefaultBodyLimit = 4 << 20

// Options configures New.
type Options struct {
	// Name is the binary's name, used in logs and metrics.
	Name string
	// Logger receives the access log and recovered panics.
	Logger *slog.Logger
	// Telemetry provides the tracer, propagator and metrics registry.
	Telemetry *telemetry.Telemetry
	// RequestTimeout is the deadline set on every request's context.
	RequestTimeout time.Duration
	// BodyLimit is the largest accepted request body in bytes, for every
	// request that Streamed does not select.
	BodyLimit int
	// ReadBufferSize bounds a request's line and headers, query string
	// included, in bytes; zero keeps Fiber's 4 KiB.
	ReadBufferSize int
	// Streamed, when set, selects the requests (uploads) whose bodies reach
	// their handler unread, to be consumed as a stream from
	// c.Request().BodyStream() without ever being held whole in memory. Such
	// a handler must enforce its own size limit. Every other request is
	// buffered and held to BodyLimit as usual.
	Streamed func(c *fiber.Ctx) bool
	// StreamTimeout is the deadline of a streamed request and bounds how long
	// a response may take to write (large media to slow clients); zero
	// means ten times RequestTimeout.
	StreamTimeout time.Duration
	// Public selects the client contract's status mapping, in which business
	// refusals travel as HTTP 200; internal services use plain HTTP statuses.
	Public bool
	// AppAPIToken, when set, must arrive in the dapr-api-token header of every
	// request except the probes and metrics.
	AppAPIToken string
	// Ready reports whether the app can serve: its sidecar and the components
	// it needs answer. Nil means always ready.
	Ready func(ctx context.Context) error
}

// connectionWait bounds how long a connection may stay open without
// bringing the headers of a request.
const connectionWait = 2 * time.Minute

// New returns a Fiber app with DouVo's middleware and probes installed. Routes
// registered on it afterwards get the full chain.
func New(opts Options) *fiber.App {
	if opts.BodyLimit == 0 {
		opts.BodyLimit = DefaultBodyLimit
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.StreamTimeout == 0 {
		opts.StreamTimeout = 10 * opts.RequestTimeout
	}
	ioTimeout := 2 * opts.RequestTimeout
	if opts.Streamed != nil {
		ioTimeout = max(ioTimeout, opts.StreamTimeout)
	}
	handleErr := errorHandler(opts.Public)
	app := fiber.New(fiber.Config{
		AppName:               opts.Name,
		DisableStartupMessage: true,
		// Fiber's strings otherwise alias reused buffers; values kept beyond
		// a request (actor ids, cache keys) must not change under us.
		Immutable:         true,
		BodyLimit:         opts.BodyLimit,
		ReadBufferSize:    opts.ReadBufferSize,
		StreamRequestBody: opts.Streamed != nil,
		// Multipart uploads must reach the handler as a stream, not be
		// parsed into memory and temporary files before it runs.
		DisablePreParseMultipartForm: opts.Streamed != nil,
		ErrorHandler:                 handleErr,
		// How long a connection may wait for a request's headers, its
		// first request included. A server that gives up on a connection
		// that never carried a request answers it with an unasked-for 408,
		// which fails the request a client sends on it at that moment;
		// Dapr's app channel drops its idle connections after 90 s, so the
		// wait must be longer, for the sidecar to be the one that closes.
		ReadTimeout:  connectionWait,
		IdleTimeout:  connectionWait,
		WriteTimeout: ioTimeout,
	})
	// Once a request's headers are in, its body must arrive within
	// ioTimeout.
	app.Server().HeaderReceived = func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
		return fasthttp.RequestConfig{ReadTimeout: ioTimeout}
	}

	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	app.Get("/readyz", readiness(opts.Ready))
	app.Get("/metrics", adaptor.HTTPHandler(
		promhttp.HandlerFor(opts.Telemetry.Registry, promhttp.HandlerOpts{})))

	app.Use(requestid.New())
	app.Use(traceContext(opts.Telemetry, deadline(opts)))
	app.Use(observe(opts.Logger, newHTTPMetrics(opts.Telemetry.Registry), handleErr))
	app.Use(recover.New(recover.Config{
		EnableStackTrace: true,
		StackTraceHandler: func(c *fiber.Ctx, e any) {
			opts.Logger.ErrorContext(c.UserContext(), "panic recovered",
				slog.Any("panic", e), slog.String("path", c.Path()))
		},
	}))
	if opts.AppAPIToken != "" {
		app.Use(requireToken(opts.AppAPIToken))
	}
	if opts.Streamed != nil {
		app.Use(bufferUnlessStreamed(opts.Streamed, opts.BodyLimit))
	}
	return app
}

// deadline picks a request's deadline: StreamTimeout for streamed requests,
// RequestTimeout for the others.
func deadline(opts Options) func(c *fiber.Ctx) time.Duration {
	return func(c *fiber.Ctx) time.Duration {
		if opts.Streamed != nil && opts.Streamed(c) {
			return opts.StreamTimeout
		}
		return opts.RequestTimeout
	}
}

func readiness(ready func(ctx context.Context) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if ready == nil {
			return c.JSON(fiber.Map{"status": "ready"})
		}
		ctx, cancel := context.WithTimeout(c.Context(), 3*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			return c.Status(fiber.StatusServiceUnavailable).
				JSON(fiber.Map{"status": "not ready", "reason": err.Error()})
		}
		return c.JSON(fiber.Map{"status": "ready"})
	}
}

// Serve listens on addr and serves app until ctx is done, then shuts down
// gracefully, waiting at most shutdownTimeout for requests in flight.
func Serve(ctx context.Context, app *fiber.App, addr string, shutdownTimeout time.Duration) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}

	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	if err := app.ShutdownWithTimeout(shutdownTimeout); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
