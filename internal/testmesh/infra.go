package testmesh

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// server is a backing server a profile may need (components/<profile>/
// servers). The profile's components name it by its well-known loopback
// address; the mesh starts its own instance on a free port and rewrites that
// address in the components and the secrets.
type server struct {
	name string
	addr string
	// ready, when set, is a line the server's log shows once it can serve;
	// otherwise an open port means ready.
	ready string
	start func(ctx context.Context, m *Mesh, port int) (*proc, error)
}

// knownServers lists the backing servers the mesh knows how to start.
func knownServers() map[string]server {
	return map[string]server{
		"broker":  {name: "broker", addr: "127.0.0.1:4222", start: startBroker},
		"redis":   {name: "redis", addr: "127.0.0.1:6379", start: startScripted("redis")},
		"mariadb": {name: "mariadb", addr: "127.0.0.1:3306", ready: "mariadb ready", start: startScripted("mariadb")},
	}
}

// profileServers reads the servers a profile needs.
func profileServers(root, profile string) ([]server, error) {
	raw, err := os.ReadFile(filepath.Join(root, "components", profile, "servers"))
	if err != nil {
		return nil, fmt.Errorf("servers of profile %s: %w", profile, err)
	}
	known := knownServers()
	var out []server
	for _, line := range strings.Split(string(raw), "\n") {
		name, _, _ := strings.Cut(line, "#")
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		s, ok := known[name]
		if !ok {
			return nil, fmt.Errorf("profile %s needs server %q, which the mesh cannot start", profile, name)
		}
		out = append(out, s)
	}
	return out, nil
}

// startInfra copies the profile's components with rewritten addresses,
// starts the servers they need, then placement and scheduler. On a restart
// it keeps the servers' ports and the secrets, so the data stays reachable.
func (m *Mesh) startInfra(ctx context.Context) error {
	src := filepath.Join(m.root, "components", m.profile)
	files, err := filepath.Glob(filepath.Join(src, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("profile %q has no components in %s", m.profile, src)
	}
	common, err := filepath.Glob(filepath.Join(m.root, "components/common/*.yaml"))
	if err != nil {
		return fmt.Errorf("common components: %w", err)
	}
	files = append(common, files...)
	texts := make(map[string]string, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read component: %w", err)
		}
		texts[filepath.Base(f)] = string(raw)
	}

	needed, err := profileServers(m.root, m.profile)
	if err != nil {
		return err
	}
	if m.serverPorts == nil {
		ports, err := m.freePorts(len(needed))
		if err != nil {
			return err
		}
		m.serverPorts = make(map[string]int, len(needed))
		for i, s := range needed {
			m.serverPorts[s.name] = ports[i]
		}
		if err := m.writeSecrets(); err != nil {
			return err
		}
	}
	for _, s := range needed {
		if strings.Contains(texts["pubsub.yaml"], s.addr) {
			m.pubsubServer = s.name
		}
		port := m.serverPorts[s.name]
		if err := m.startServer(ctx, s, port); err != nil {
			return err
		}
		for name, text := range texts {
			texts[name] = strings.ReplaceAll(text, s.addr, "127.0.0.1:"+strconv.Itoa(port))
		}
	}
	for name, text := range texts {
		if err := os.WriteFile(filepath.Join(m.dir, "components", name), []byte(text), 0o600); err != nil {
			return fmt.Errorf("write component: %w", err)
		}
	}
	return m.startControlPlane(ctx)
}

// startServer starts one backing server and waits until it can serve.
func (m *Mesh) startServer(ctx context.Context, s server, port int) error {
	p, err := s.start(ctx, m, port)
	if err != nil {
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	m.infra = append(m.infra, p)
	m.mu.Lock()
	m.servers[s.name] = p
	m.mu.Unlock()
	if s.ready == "" {
		if err := waitPort(ctx, port, 60*time.Second); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		return nil
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if raw, err := os.ReadFile(p.log); err == nil && strings.Contains(string(raw), s.ready) {
			return nil
		}
		if !p.running() {
			return fmt.Errorf("%s exited before it was ready", s.name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after 2 minutes", s.name)
}

// PubSubServer names the backing server that carries the profile's "pubsub"
// component ("broker", "redis", ...).
func (m *Mesh) PubSubServer() string { return m.pubsubServer }

// StopServer stops a backing server, as an outage would.
func (m *Mesh) StopServer(name string) {
	m.mu.Lock()
	p := m.servers[name]
	m.mu.Unlock()
	if p != nil {
		p.stop(10 * time.Second)
	}
}

// StartServer starts a stopped backing server again on its port and data.
func (m *Mesh) StartServer(ctx context.Context, name string) error {
	s, ok := knownServers()[name]
	if !ok {
		return fmt.Errorf("no server %q", name)
	}
	return m.startServer(ctx, s, m.serverPorts[name])
}

// startScripted runs a server through deploy/local/servers.sh, the script
// make run uses too.
func startScripted(name string) func(ctx context.Context, m *Mesh, port int) (*proc, error) {
	return func(_ context.Context, m *Mesh, port int) (*proc, error) {
		return startProc(name, m.dir, filepath.Join(m.dir, "logs"), os.Environ(),
			filepath.Join(m.root, "deploy/local/servers.sh"), "run", name, strconv.Itoa(port),
			filepath.Join(m.dir, ".data", name), filepath.Join(m.dir, ".data/secrets.json"))
	}
}

func startBroker(_ context.Context, m *Mesh, port int) (*proc, error) {
	return startProc("broker", m.dir, filepath.Join(m.dir, "logs"), os.Environ(),
		filepath.Join(m.toolchain, "bin/broker"),
		"-host", "127.0.0.1", "-port", strconv.Itoa(port),
		"-store", filepath.Join(m.dir, ".data/nats"),
		"-streams", filepath.Join(m.root, "components/broker/streams.txt"))
}

// startControlPlane starts Dapr sentry (identities for mTLS), placement
// (actors) and scheduler (reminders, jobs) on free ports, as make run does.
// Sentry makes its root certificate in the mesh's folder on first start and
// keeps it across restarts.
func (m *Mesh) startControlPlane(ctx context.Context) error {
	ports, err := m.freePorts(11)
	if err != nil {
		return err
	}
	m.placementPort, m.schedulerPort, m.sentryPort = ports[0], ports[1], ports[9]
	logs := filepath.Join(m.dir, "logs")
	bin := filepath.Join(m.toolchain, "bin")
	p := strconv.Itoa

	creds := filepath.Join(m.dir, ".data/sentry")
	for _, dir := range []string{creds, filepath.Join(m.dir, ".data/scheduler-tls")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("control plane's folder: %w", err)
		}
	}
	sentry, err := startProc("sentry", m.dir, logs, os.Environ(), filepath.Join(bin, "sentry"),
		"--listen-address", "127.0.0.1", "--port", p(ports[9]),
		"--healthz-listen-address", "127.0.0.1", "--healthz-port", p(ports[10]),
		"--enable-metrics=false", "--issuer-credentials", creds, "--trust-domain", "localhost",
		"--config", filepath.Join(m.root, "components/config/sentry.yaml"))
	if err != nil {
		return err
	}
	m.infra = append(m.infra, sentry)
	if err := waitPort(ctx, ports[9], 30*time.Second); err != nil {
		return fmt.Errorf("sentry: %w", err)
	}
	anchors, err := os.ReadFile(filepath.Join(creds, "ca.crt"))
	if err != nil {
		return fmt.Errorf("sentry's trust anchors: %w", err)
	}
	m.trustAnchors = string(anchors)
	mtls := []string{"--tls-enabled", "--trust-domain", "localhost",
		"--trust-anchors-file", filepath.Join(creds, "ca.crt"),
		"--sentry-address", "127.0.0.1:" + p(ports[9])}

	placement, err := startProc("placement", m.dir, logs, os.Environ(), filepath.Join(bin, "placement"),
		append([]string{"--listen-address", "127.0.0.1", "--port", p(ports[0]),
			"--healthz-listen-address", "127.0.0.1", "--healthz-port", p(ports[2]),
			"--enable-metrics=false",
			"--initial-cluster", "dapr-placement-0=127.0.0.1:" + p(ports[7]),
			"--inmem-store-enabled"}, mtls...)...)
	if err != nil {
		return err
	}
	m.infra = append(m.infra, placement)

	scheduler, err := startProc("scheduler", m.dir, logs, os.Environ(), filepath.Join(bin, "scheduler"),
		append([]string{"--listen-address", "127.0.0.1", "--port", p(ports[1]),
			"--healthz-listen-address", "127.0.0.1", "--healthz-port", p(ports[4]),
			"--enable-metrics=false",
			"--etcd-data-dir", filepath.Join(m.dir, ".data/scheduler"),
			"--etcd-client-port", p(ports[6]),
			"--etcd-initial-cluster", "dapr-scheduler-server-0=http://127.0.0.1:" + p(ports[8]),
			"--identity-directory-write", filepath.Join(m.dir, ".data/scheduler-tls/identity")}, mtls...)...)
	if err != nil {
		return err
	}
	m.infra = append(m.infra, scheduler)

	if err := waitPort(ctx, ports[0], 30*time.Second); err != nil {
		return fmt.Errorf("placement: %w", err)
	}
	if err := waitPort(ctx, ports[1], 60*time.Second); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	return nil
}
