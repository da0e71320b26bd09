package testmesh

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// startApps starts every app of the run file beside its sidecar. An app-id
// listed more than once runs as several instances, named after the app-id
// and, from the second on, "-2", "-3" and so on.
func (m *Mesh) startApps(_ context.Context, opts Options) error {
	runApps, err := readRunFile(m.root)
	if err != nil {
		return err
	}
	seen := map[string]int{}
	for _, ra := range runApps {
		seen[ra.AppID]++
		name := ra.AppID
		if n := seen[ra.AppID]; n > 1 {
			name += "-" + strconv.Itoa(n)
		}
		ports, err := m.freePorts(5)
		if err != nil {
			return err
		}
		env := ra.Env
		for k, v := range opts.Env {
			env[k] = v
		}
		command := ra.Command[0]
		if !filepath.IsAbs(command) {
			command = filepath.Join(m.root, command)
		}
		config, mtls, err := m.copyConfig(ra)
		if err != nil {
			return err
		}
		a := &App{
			ID: ra.AppID, Name: name, Port: ports[0], DaprHTTPPort: ports[1], DaprGRPCPort: ports[2],
			internalPort: ports[3], metricsPort: ports[4],
			command: command, env: env,
			maxBodySize: ra.MaxBodySize, readBuffer: ra.ReadBufferSize,
			config: config, mtls: mtls,
		}
		m.mu.Lock()
		m.apps[a.Name] = a
		m.order = append(m.order, a.Name)
		m.mu.Unlock()

		if err := m.startDaprd(a); err != nil {
			return err
		}
		if err := m.startApp(a); err != nil {
			return err
		}
	}
	return nil
}

// copyConfig copies the Dapr configuration the run file names for an app
// into the mesh's folder and reports whether it asks for mTLS, which is
// what makes the Dapr CLI pass the mTLS flags.
func (m *Mesh) copyConfig(ra runApp) (string, bool, error) {
	raw, err := os.ReadFile(filepath.Join(m.root, ra.ConfigFilePath))
	if err != nil {
		return "", false, fmt.Errorf("dapr config of %s: %w", ra.AppID, err)
	}
	var cfg struct {
		Spec struct {
			MTLS struct {
				Enabled bool `yaml:"enabled"`
			} `yaml:"mtls"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return "", false, fmt.Errorf("dapr config of %s: %w", ra.AppID, err)
	}
	dst := filepath.Join(m.dir, "config", ra.AppID+".yaml")
	if err := os.WriteFile(dst, raw, 0o600); err != nil { //nolint:gosec // the mesh's own folder
		return "", false, fmt.Errorf("write dapr config: %w", err)
	}
	return dst, cfg.Spec.MTLS.Enabled, nil
}

// startDaprd starts the app's sidecar with the flags the Dapr CLI would pass
// for the run file, plus the mesh's API tokens.
func (m *Mesh) startDaprd(a *App) error {
	p := strconv.Itoa
	args := []string{
		"--app-id", a.ID,
		"--app-port", p(a.Port),
		"--app-protocol", "http",
		"--dapr-http-port", p(a.DaprHTTPPort),
		"--dapr-grpc-port", p(a.DaprGRPCPort),
		"--dapr-internal-grpc-port", p(a.internalPort),
		"--metrics-port", p(a.metricsPort),
		"--dapr-listen-addresses", "127.0.0.1",
		"--placement-host-address", "127.0.0.1:" + p(m.placementPort),
		"--scheduler-host-address", "127.0.0.1:" + p(m.schedulerPort),
		"--resources-path", filepath.Join(m.dir, "components"),
		"--config", a.config,
		"--enable-app-health-check",
		"--app-health-check-path", "/healthz",
		"--log-level", "warn",
	}
	if a.maxBodySize != "" {
		args = append(args, "--max-body-size", a.maxBodySize)
	}
	if a.readBuffer != "" {
		args = append(args, "--read-buffer-size", a.readBuffer)
	}
	if a.mtls {
		args = append(args, "--enable-mtls", "--sentry-address", "127.0.0.1:"+p(m.sentryPort))
	}
	env := append(os.Environ(),
		"DAPR_HOST_IP=127.0.0.1",
		"DAPR_API_TOKEN="+m.DaprAPIToken(),
		"APP_API_TOKEN="+m.AppAPIToken(),
		"DAPR_TRUST_ANCHORS="+m.trustAnchors)
	d, err := startProc(a.Name+".daprd", m.dir, filepath.Join(m.dir, "logs"), env,
		filepath.Join(m.toolchain, ".dapr/bin/daprd"), args...)
	if err != nil {
		return err
	}
	a.daprd = d
	return nil
}

// startApp starts the app's own process with the environment the Dapr CLI
// would give it.
func (m *Mesh) startApp(a *App) error {
	vars := map[string]string{
		"APP_ID":         a.ID,
		"APP_PORT":       strconv.Itoa(a.Port),
		"DAPR_HTTP_PORT": strconv.Itoa(a.DaprHTTPPort),
		"DAPR_GRPC_PORT": strconv.Itoa(a.DaprGRPCPort),
		"DAPR_API_TOKEN": m.DaprAPIToken(),
		"APP_API_TOKEN":  m.AppAPIToken(),
	}
	for k, v := range a.env {
		vars[k] = v
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := os.Environ()
	for _, k := range keys {
		env = append(env, k+"="+vars[k])
	}
	p, err := startProc(a.Name, m.dir, filepath.Join(m.dir, "logs"), env, a.command)
	if err != nil {
		return fmt.Errorf("start app %s: %w", a.Name, err)
	}
	a.app = p
	return nil
}
