// Package telemetry sets up what every DouVo binary reports about itself: a
// JSON slog logger, an OpenTelemetry tracer provider that continues the W3C
// trace context Dapr propagates, and a Prometheus registry of its own.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// NewLogger returns a JSON logger writing to w at the given minimum level,
// with the service name on every line.
func NewLogger(w io.Writer, service string, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(h).With(slog.String("service", service))
}

// Telemetry bundles a binary's tracer, propagator and metrics registry.
type Telemetry struct {
	// Tracer starts the binary's spans.
	Tracer trace.Tracer
	// Propagator reads and writes W3C traceparent and baggage headers.
	Propagator propagation.TextMapPropagator
	// Registry holds the binary's Prometheus collectors; it is not the
	// process-global default registry.
	Registry *prometheus.Registry

	provider *sdktrace.TracerProvider
}

// New builds the telemetry of one service. Spans are always created, so trace
// ids appear in logs and propagate through Dapr; they are exported over
// OTLP/HTTP only when otlpEndpoint is set.
func New(ctx context.Context, service, otlpEndpoint string) (*Telemetry, error) {
	res := resource.NewSchemaless(attribute.String("service.name", service))

	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if otlpEndpoint != "" {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(otlpEndpoint))
		if err != nil {
			return nil, fmt.Errorf("otlp exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	provider := sdktrace.NewTracerProvider(opts...)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	return &Telemetry{
		Tracer: provider.Tracer("github.com/douvo/douvo/" + service),
		Propagator: propagation.NewCompositeTextMapPropagator(
			propagation.TraceContext{}, propagation.Baggage{}),
		Registry: reg,
		provider: provider,
	}, nil
}

// Shutdown flushes pending spans.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if err := t.provider.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shutdown tracer provider: %w", err)
	}
	return nil
}
