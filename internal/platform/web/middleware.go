package web

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/douvo/douvo/internal/platform/apierr"
	"github.com/douvo/douvo/internal/platform/telemetry"
)

// errorLocal is the Fiber local under which the error handler leaves the
// request's error for the access log.
const errorLocal = "douvo.error"

// headerCarrier adapts fasthttp request headers to OpenTelemetry's
// propagation.TextMapCarrier.
type headerCarrier struct{ h *fasthttp.RequestHeader }

func (hc headerCarrier) Get(key string) string { return string(hc.h.Peek(key)) }
func (hc headerCarrier) Set(key, value string) { hc.h.Set(key, value) }
func (hc headerCarrier) Keys() []string {
	var keys []string
	hc.h.VisitAll(func(k, _ []byte) { keys = append(keys, string(k)) })
	return keys
}

// traceContext continues the caller's W3C trace (Dapr forwards traceparent),
// starts a server span and stores a context with the request deadline as the
// request's UserContext.
func traceContext(tel *telemetry.Telemetry, timeout time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := tel.Propagator.Extract(c.Context(), headerCarrier{&c.Request().Header})
		ctx, span := tel.Tracer.Start(ctx, c.Method(), trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()

		c.SetUserContext(ctx)
		err := c.Next()
		span.SetName(c.Method() + " " + c.Route().Path)
		return err
	}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "HTTP request latency, by route and method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// observe turns a failed handler chain into the envelope, then records the
// request in the metrics and the access log. It is the one place that logs a
// request's error.
func observe(logger *slog.Logger, m *httpMetrics, handleErr fiber.ErrorHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := handleErr(c, err); herr != nil {
				c.Status(fiber.StatusInternalServerError)
			}
		}
		elapsed := time.Since(start)

		route, method := c.Route().Path, c.Method()
		status := c.Response().StatusCode()
		m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())

		ctx := c.UserContext()
		attrs := []slog.Attr{
			slog.String("request_id", requestID(c)),
			slog.String("trace_id", trace.SpanContextFromContext(ctx).TraceID().String()),
			slog.String("method", method),
			slog.String("route", route),
			slog.String("path", c.Path()),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		}
		level := slog.LevelInfo
		if err, ok := c.Locals(errorLocal).(error); ok {
			attrs = append(attrs, slog.String("error", err.Error()))
			if fromFiber(err).Kind == apierr.Internal {
				level = slog.LevelError
			}
		}
		logger.LogAttrs(ctx, level, "request", attrs...)
		return nil
	}
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestid.ConfigDefault.ContextKey).(string)
	return id
}

// RequireAppToken refuses requests that lack the app API token the sidecar
// presents. Internal apps enforce it on every route through
// Options.AppAPIToken; a public app puts it in front of the routes only its
// sidecar may call, such as event deliveries. An empty token lets every
// request through, as on a run without tokens.
func RequireAppToken(token string) fiber.Handler {
	if token == "" {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return requireToken(token)
}

// requireToken refuses requests that lack the app API token the sidecar
// presents, so that only the app's own sidecar can call it.
func requireToken(token string) fiber.Handler {
	want := []byte(token)
	return func(c *fiber.Ctx) error {
		got := c.Request().Header.Peek("dapr-api-token")
		if subtle.ConstantTimeCompare(got, want) != 1 {
			return apierr.New(apierr.Unauthenticated, "missing or wrong app API token")
		}
		return c.Next()
	}
}
