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

// server is a backing server a profile's components may point at. The
// components name it by its well-known loopback address; the mesh starts its
// own instance on a free port and rewrites that address.
type server struct {
	name  string
	addr  string
	start func(ctx context.Context, m *Mesh, port int) (*proc, error)
}

// servers lists the backing servers the mesh knows how to start.
func servers() []server {
	return []server{
		{name: "broker", addr: "127.0.0.1:4222", start: startBroker},
	}
}

// startInfra copies the profile's components with rewritten addresses,
// starts the servers they need, then placement and scheduler.
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

	for _, s := range servers() {
		if !anyContains(texts, s.addr) {
			continue
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		p, err := s.start(ctx, m, port)
		if err != nil {
			return fmt.Errorf("start %s: %w", s.name, err)
		}
		m.infra = append(m.infra, p)
		if err := waitPort(ctx, port, 30*time.Second); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
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
	cfg, err := os.ReadFile(filepath.Join(m.root, "components/config.yaml"))
	if err != nil {
		return fmt.Errorf("read dapr config: %w", err)
	}
	dst := filepath.Join(m.dir, "config.yaml")
	if err := os.WriteFile(dst, cfg, 0o600); err != nil { //nolint:gosec // the mesh's own folder
		return fmt.Errorf("write dapr config: %w", err)
	}
	return m.startControlPlane(ctx)
}

func anyContains(texts map[string]string, s string) bool {
	for _, t := range texts {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

func startBroker(_ context.Context, m *Mesh, port int) (*proc, error) {
	return startProc("broker", m.dir, filepath.Join(m.dir, "logs"), os.Environ(),
		filepath.Join(m.toolchain, "bin/broker"),
		"-host", "127.0.0.1", "-port", strconv.Itoa(port),
		"-store", filepath.Join(m.dir, ".data/nats"),
		"-streams", filepath.Join(m.root, "components/broker/streams.txt"))
}

// startControlPlane starts Dapr placement (actors) and scheduler (reminders,
// jobs) on free ports.
func (m *Mesh) startControlPlane(ctx context.Context) error {
	ports, err := freePorts(9)
	if err != nil {
		return err
	}
	m.placementPort, m.schedulerPort = ports[0], ports[1]
	logs := filepath.Join(m.dir, "logs")
	bin := filepath.Join(m.toolchain, "bin")
	p := strconv.Itoa

	placement, err := startProc("placement", m.dir, logs, os.Environ(), filepath.Join(bin, "placement"),
		"--listen-address", "127.0.0.1", "--port", p(ports[0]),
		"--healthz-listen-address", "127.0.0.1", "--healthz-port", p(ports[2]),
		"--metrics-listen-address", "127.0.0.1", "--metrics-port", p(ports[3]),
		"--initial-cluster", "dapr-placement-0=127.0.0.1:"+p(ports[7]),
		"--inmem-store-enabled")
	if err != nil {
		return err
	}
	m.infra = append(m.infra, placement)

	scheduler, err := startProc("scheduler", m.dir, logs, os.Environ(), filepath.Join(bin, "scheduler"),
		"--listen-address", "127.0.0.1", "--port", p(ports[1]),
		"--healthz-listen-address", "127.0.0.1", "--healthz-port", p(ports[4]),
		"--metrics-listen-address", "127.0.0.1", "--metrics-port", p(ports[5]),
		"--etcd-data-dir", filepath.Join(m.dir, ".data/scheduler"),
		"--etcd-client-port", p(ports[6]),
		"--etcd-initial-cluster", "dapr-scheduler-server-0=http://127.0.0.1:"+p(ports[8]))
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
