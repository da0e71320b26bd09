// Package sidecar connects a DouVo app to its Dapr sidecar. It waits for the
// sidecar at start, hands out the Dapr SDK client for state, pub/sub,
// bindings and secrets, and invokes other services through the sidecar's HTTP
// API, carrying the API token and the W3C trace context on every call.
package sidecar

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/douvo/douvo/internal/platform/config"
)

// Sidecar is an app's connection to its Dapr sidecar.
type Sidecar struct {
	// Dapr is the SDK client, connected over gRPC.
	Dapr dapr.Client

	conn       *grpc.ClientConn
	httpBase   string
	token      string
	propagator propagation.TextMapPropagator
	http       *http.Client
}

// Connect waits until the sidecar's components are loaded, then connects to
// it. It gives up after cfg.WaitTimeout.
func Connect(ctx context.Context, cfg config.Sidecar, prop propagation.TextMapPropagator) (*Sidecar, error) {
	s := &Sidecar{
		httpBase:   fmt.Sprintf("http://127.0.0.1:%d", cfg.HTTPPort),
		token:      cfg.APIToken,
		propagator: prop,
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 512,
			IdleConnTimeout:     90 * time.Second,
		}},
	}
	if err := s.waitOutbound(ctx, cfg.WaitTimeout); err != nil {
		return nil, err
	}

	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", cfg.GRPCPort),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(s.unaryMetadata),
		grpc.WithStreamInterceptor(s.streamMetadata),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20),
			grpc.MaxCallSendMsgSize(256<<20)))
	if err != nil {
		return nil, fmt.Errorf("dial sidecar: %w", err)
	}
	s.conn = conn
	s.Dapr = dapr.NewClientWithConnection(conn)
	return s, nil
}

// Close releases the connection to the sidecar.
func (s *Sidecar) Close() error {
	s.http.CloseIdleConnections()
	if err := s.conn.Close(); err != nil {
		return fmt.Errorf("close sidecar connection: %w", err)
	}
	return nil
}

// waitOutbound polls the sidecar's outbound health endpoint, which answers
// once its components are initialised, whether or not the app is up yet.
func (s *Sidecar) waitOutbound(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := s.healthy(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for sidecar at %s: %w", s.httpBase, err)
		case <-tick.C:
		}
	}
}

func (s *Sidecar) healthy(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.httpBase+"/v1.0/healthz/outbound", nil)
	if err != nil {
		return fmt.Errorf("health request: %w", err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("sidecar health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sidecar health: status %d", resp.StatusCode)
	}
	return nil
}

// Ready reports whether the sidecar answers and has loaded every named
// component, and whether the named state stores answer a read. Apps use it
// as their readiness check.
func (s *Sidecar) Ready(ctx context.Context, components ...string) error {
	if err := s.healthy(ctx); err != nil {
		return err
	}
	if len(components) == 0 {
		return nil
	}
	md, err := s.Dapr.GetMetadata(ctx)
	if err != nil {
		return fmt.Errorf("sidecar metadata: %w", err)
	}
	types := make(map[string]string, len(md.RegisteredComponents))
	for _, c := range md.RegisteredComponents {
		types[c.Name] = c.Type
	}
	for _, name := range components {
		typ, ok := types[name]
		if !ok {
			return fmt.Errorf("component %q is not loaded", name)
		}
		if !strings.HasPrefix(typ, "state.") {
			continue
		}
		// A key no one writes: the read reaches the store and finds nothing.
		if _, err := s.Dapr.GetState(ctx, name, readinessProbeKey, nil); err != nil {
			return fmt.Errorf("state store %q: %w", name, err)
		}
	}
	return nil
}

// readinessProbeKey is the key Ready reads from each state store.
const readinessProbeKey = "readiness-probe"

// outgoing adds the API token and the trace context to the gRPC metadata of a
// call, keeping whatever metadata the caller set.
func (s *Sidecar) outgoing(ctx context.Context) context.Context {
	carrier := propagation.MapCarrier{}
	s.propagator.Inject(ctx, carrier)
	kv := make([]string, 0, 2*len(carrier)+2)
	for k, v := range carrier {
		kv = append(kv, k, v)
	}
	if s.token != "" {
		kv = append(kv, "dapr-api-token", s.token)
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

func (s *Sidecar) unaryMetadata(ctx context.Context, method string, req, reply any,
	cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption,
) error {
	return invoker(s.outgoing(ctx), method, req, reply, cc, opts...)
}

func (s *Sidecar) streamMetadata(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn,
	method string, streamer grpc.Streamer, opts ...grpc.CallOption,
) (grpc.ClientStream, error) {
	return streamer(s.outgoing(ctx), desc, cc, method, opts...)
}
