package web

import (
	"context"
	"crypto/subtle"
	"io"
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
func traceContext(tel *telemetry.Telemetry, timeout func(c *fiber.Ctx) time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := tel.Propagator.Extract(c.Context(), headerCarrier{&c.Request().Header})
		ctx, span := tel.Tracer.Start(ctx, c.Method(), trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		ctx, cancel := context.WithTimeout(ctx, timeout(c))
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

var errBodyTooLarge = apierr.New(apierr.TooLarge, "request body is larger than the server accepts")

// bufferUnlessStreamed holds the requests that streamed does not select to
// limit bytes when the server streams request bodies: the server then no
// longer refuses large bodies itself. A body of announced length is judged
// by its Content-Length before a byte is read; a chunked body is read up to
// the limit and kept, so that handlers see an ordinary buffered body.
func bufferUnlessStreamed(streamed func(c *fiber.Ctx) bool, limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if streamed(c) {
			return c.Next()
		}
		req := c.Request()
		n := req.Header.ContentLength()
		switch {
		case n > limit:
			c.Context().SetConnectionClose()
			return errBodyTooLarge
		case n == -1 && req.IsBodyStream():
			body, err := io.ReadAll(io.LimitReader(req.BodyStream(), int64(limit)+1))
			if err != nil {
				return apierr.New(apierr.Invalid, "request body could not be read")
			}
			if len(body) > limit {
				c.Context().SetConnectionClose()
				return errBodyTooLarge
			}
			req.SetBody(body)
		}
		return c.Next()
	}
}

// Body is a request body a handler reads as a stream (see
// Options.Streamed). It remembers where the stream ended: the server's
// stream must not be read again after its end, or it would wait for the
// next request's bytes on the connection.
type Body struct {
	c    *fiber.Ctx
	r    io.Reader
	done bool
}

// StreamBody returns the request's body as a stream, or nil when the
// request has none.
func StreamBody(c *fiber.Ctx) *Body {
	r := c.Request().BodyStream()
	if r == nil {
		return nil
	}
	return &Body{c: c, r: r}
}

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	if err != nil {
		b.done = true
	}
	return n, err
}

// Finish ends the handler's use of the body: it reads and discards what is
// left of it, up to limit bytes, or, when more is left, has the connection
// closed after the answer. Leftover bytes would otherwise be read as the
// start of the next request on the connection.
func (b *Body) Finish(limit int64) {
	if b.done {
		return
	}
	n, err := io.Copy(io.Discard, io.LimitReader(b, limit+1))
	if err != nil || n > limit || !b.done {
		b.c.Context().SetConnectionClose()
	}
}
