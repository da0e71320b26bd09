// Package config loads a binary's typed configuration from environment
// variables, validates it at start and renders it for the log with secrets
// masked.
//
// A configuration is a plain struct whose fields carry `env` and `envDefault`
// tags; fields tagged `secret:"true"` are masked when logged. A struct that
// implements Validator is validated after loading.
package config

import (
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/caarlos0/env/v11"
)

// Validator is implemented by configurations that check their own values.
type Validator interface {
	Validate() error
}

// Load reads T from the environment, applying defaults, and validates it.
func Load[T any]() (T, error) {
	cfg, err := env.ParseAs[T]()
	if err != nil {
		return cfg, fmt.Errorf("load config: %w", err)
	}
	if v, ok := any(&cfg).(Validator); ok {
		if err := v.Validate(); err != nil {
			return cfg, fmt.Errorf("validate config: %w", err)
		}
	}
	return cfg, nil
}

// Sidecar locates the Dapr sidecar next to the process. The Dapr CLI and the
// Kubernetes injector set these variables for every app.
type Sidecar struct {
	// HTTPPort is the sidecar's HTTP API port, used for service invocation.
	HTTPPort int `env:"DAPR_HTTP_PORT" envDefault:"3500"`
	// GRPCPort is the sidecar's gRPC API port, used by the Dapr SDK.
	GRPCPort int `env:"DAPR_GRPC_PORT" envDefault:"50001"`
	// APIToken authenticates the app to its sidecar; empty when the sidecar
	// does not require one.
	APIToken string `env:"DAPR_API_TOKEN" secret:"true"`
	// AppAPIToken is the token the sidecar presents on every call to the app;
	// when set, the app refuses calls that do not carry it.
	AppAPIToken string `env:"APP_API_TOKEN" secret:"true"`
	// WaitTimeout bounds how long the app waits for its sidecar at start.
	WaitTimeout time.Duration `env:"DAPR_WAIT_TIMEOUT" envDefault:"60s"`
}

// Server is the common HTTP server configuration of every DouVo binary.
type Server struct {
	// Host is the interface to listen on; loopback unless deployed.
	Host string `env:"APP_HOST" envDefault:"127.0.0.1"`
	// Port is the app's HTTP port; the Dapr CLI sets APP_PORT from the run file.
	Port int `env:"APP_PORT" envDefault:"8080"`
	// RequestTimeout is the deadline of one request, passed down to every call
	// it makes.
	RequestTimeout time.Duration `env:"REQUEST_TIMEOUT" envDefault:"10s"`
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"10s"`
	// LogLevel is the minimum level logged: DEBUG, INFO, WARN or ERROR.
	LogLevel slog.Level `env:"LOG_LEVEL" envDefault:"INFO"`
	// OTLPEndpoint, when set, receives traces over OTLP/HTTP
	// (for example http://127.0.0.1:4318).
	OTLPEndpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
}

// Addr is the listen address host:port.
func (s Server) Addr() string { return fmt.Sprintf("%s:%d", s.Host, s.Port) }

// LogAttrs renders cfg as log attributes, descending into nested structs and
// masking fields tagged `secret:"true"`.
func LogAttrs(cfg any) []any {
	v := reflect.Indirect(reflect.ValueOf(cfg))
	if v.Kind() != reflect.Struct {
		return nil
	}
	var attrs []any
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]():
			attrs = append(attrs, slog.Group(f.Name, LogAttrs(fv.Interface())...))
		case f.Tag.Get("secret") == "true":
			masked := ""
			if !fv.IsZero() {
				masked = "***"
			}
			attrs = append(attrs, slog.String(f.Name, masked))
		default:
			attrs = append(attrs, slog.Any(f.Name, fv.Interface()))
		}
	}
	return attrs
}

// Level is the configured log level.
func (s Server) Level() slog.Level { return s.LogLevel }
