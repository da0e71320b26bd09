// Package testmesh starts a complete DouVo mesh for end-to-end tests: every
// app of dapr.yaml beside its own real daprd, Dapr sentry, placement and
// scheduler, and the servers the chosen profile's components point at, all on free
// loopback ports with data in a fresh folder. Tests drive it through the
// gateway and may stop, kill and restart single apps. An app-id listed
// several times in dapr.yaml runs as several instances, named "<app-id>",
// "<app-id>-2" and so on.
//
// The mesh reads the same run file and component YAML that `make run` uses,
// rewriting only the addresses of the servers it starts, so what is tested is
// what runs.
package testmesh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures Start.
type Options struct {
	// Profile selects components/<Profile>; empty means $DOUVO_PROFILE, or
	// "local".
	Profile string
	// Env is added to every app's environment, after the run file's.
	Env map[string]string
	// ReadyTimeout bounds the wait for every app to be ready.
	ReadyTimeout time.Duration
}

// Mesh is a running DouVo system.
type Mesh struct {
	root      string
	dir       string
	toolchain string
	profile   string
	tokens    [2]string

	sentryPort    int
	trustAnchors  string
	placementPort int
	schedulerPort int
	serverPorts   map[string]int
	pubsubServer  string

	mu      sync.Mutex
	given   map[int]bool
	infra   []*proc
	servers map[string]*proc
	apps    map[string]*App
	order   []string
}

// App is one instance of an app of the mesh and its sidecar.
type App struct {
	// ID is the Dapr app-id.
	ID string
	// Name tells the instances of one app-id apart: the app-id for the
	// first instance listed in the run file, "<app-id>-2" for the second.
	Name string
	// Port is the app's HTTP port.
	Port int
	// DaprHTTPPort and DaprGRPCPort are its sidecar's API ports.
	DaprHTTPPort, DaprGRPCPort int

	internalPort, metricsPort int
	command                   string
	env                       map[string]string
	maxBodySize, readBuffer   string
	// config is the sidecar's Dapr configuration file in the mesh's
	// folder; mtls says whether it asks for mTLS.
	config     string
	mtls       bool
	app, daprd *proc
}

// Start builds the app binaries, starts the whole mesh and waits until every
// app is ready. Close it when done, even when Start fails.
func Start(ctx context.Context, opts Options) (m *Mesh, err error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	profile := firstNonEmpty(opts.Profile, os.Getenv("DOUVO_PROFILE"), "local")
	dir, err := os.MkdirTemp("", "douvo-mesh-")
	if err != nil {
		return nil, fmt.Errorf("mesh folder: %w", err)
	}
	m = &Mesh{root: root, dir: dir, profile: profile, apps: map[string]*App{},
		servers: map[string]*proc{}}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, m.Logs())
		}
	}()

	if m.toolchain, err = findToolchain(ctx, root); err != nil {
		return m, err
	}
	if err = m.build(ctx); err != nil {
		return m, err
	}
	m.tokens = [2]string{randomToken(), randomToken()}
	for _, sub := range []string{"logs", "components", "config", ".data"} {
		if err = os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return m, fmt.Errorf("mesh folder: %w", err)
		}
	}
	if err = m.startInfra(ctx); err != nil {
		return m, err
	}
	if err = m.startApps(ctx, opts); err != nil {
		return m, err
	}
	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	for _, id := range m.order {
		if err = m.WaitReady(ctx, id, timeout); err != nil {
			return m, err
		}
	}
	return m, nil
}

// Dir is the mesh's working folder: component copies, data and logs.
func (m *Mesh) Dir() string { return m.dir }

// Profile is the component profile the mesh runs.
func (m *Mesh) Profile() string { return m.profile }

// GatewayURL is the base URL of the public API.
func (m *Mesh) GatewayURL() string {
	return "http://127.0.0.1:" + strconv.Itoa(m.App("gateway").Port)
}

// App returns the app instance with the given name: an app-id names the
// app's first instance. It panics on an unknown name, which is a mistake in
// the test.
func (m *Mesh) App(name string) *App {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.apps[name]
	if !ok {
		panic("testmesh: no app " + name + " in dapr.yaml")
	}
	return a
}

// Instances returns every instance of an app-id, in run file order.
func (m *Mesh) Instances(id string) []*App {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*App
	for _, name := range m.order {
		if a := m.apps[name]; a.ID == id {
			out = append(out, a)
		}
	}
	return out
}

// AppAPIToken is the token sidecars present to apps; a caller without it is
// refused by every app.
func (m *Mesh) AppAPIToken() string { return m.tokens[1] }

// DaprAPIToken is the token apps present to their sidecars.
func (m *Mesh) DaprAPIToken() string { return m.tokens[0] }

// Close stops every process and removes the mesh folder, unless
// DOUVO_KEEP_MESH is set.
func (m *Mesh) Close() {
	m.stopAll()
	if os.Getenv("DOUVO_KEEP_MESH") == "" {
		_ = os.RemoveAll(m.dir)
	}
}

// stopAll stops the apps with their sidecars, then the servers and the
// control plane.
func (m *Mesh) stopAll() {
	m.mu.Lock()
	apps := make([]*App, 0, len(m.order))
	for _, id := range m.order {
		apps = append(apps, m.apps[id])
	}
	m.mu.Unlock()

	var wg sync.WaitGroup
	for _, a := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.stop()
		}()
	}
	wg.Wait()
	for i := len(m.infra) - 1; i >= 0; i-- {
		m.infra[i].stop(10 * time.Second)
	}
}

// Restart stops every process, servers included, then starts the whole mesh
// again on the same data, as an operator restarting the system would.
func (m *Mesh) Restart(ctx context.Context) error {
	m.stopAll()
	m.infra = nil
	if err := m.startInfra(ctx); err != nil {
		return err
	}
	for _, id := range m.order {
		a := m.App(id)
		if err := m.startDaprd(a); err != nil {
			return err
		}
		if err := m.startApp(a); err != nil {
			return err
		}
	}
	for _, id := range m.order {
		if err := m.WaitReady(ctx, id, 90*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// Processes returns the process ids of the running apps and sidecars, by
// name ("user", "user.daprd").
func (m *Mesh) Processes() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, 2*len(m.apps))
	for _, a := range m.apps {
		for _, p := range []*proc{a.app, a.daprd} {
			if p != nil && p.running() {
				out[p.name] = p.cmd.Process.Pid
			}
		}
	}
	return out
}

// StopApp stops an app instance and its sidecar gracefully.
func (m *Mesh) StopApp(name string) { m.App(name).stop() }

// KillApp kills an app instance's process at once, as a crash would,
// leaving its sidecar running.
func (m *Mesh) KillApp(name string) {
	if p := m.App(name).app; p != nil {
		p.kill()
	}
}

// KillInstance kills an app instance and its sidecar at once, as the loss
// of the machine running them would: neither says goodbye to placement or
// name resolution.
func (m *Mesh) KillInstance(name string) {
	a := m.App(name)
	if a.app != nil {
		a.app.kill()
	}
	if a.daprd != nil {
		a.daprd.kill()
	}
}

// StartApp starts an app instance, and its sidecar if that is not running,
// and waits until the app is ready.
func (m *Mesh) StartApp(ctx context.Context, name string) error {
	a := m.App(name)
	if a.daprd == nil || !a.daprd.running() {
		if err := m.startDaprd(a); err != nil {
			return err
		}
	}
	if a.app == nil || !a.app.running() {
		if err := m.startApp(a); err != nil {
			return err
		}
	}
	return m.WaitReady(ctx, name, 60*time.Second)
}

// PIDs returns the process ids of the app and of its sidecar, 0 for one
// that is not running; benchmarks read their memory use.
func (a *App) PIDs() (app, sidecar int) {
	if a.app != nil && a.app.running() {
		app = a.app.cmd.Process.Pid
	}
	if a.daprd != nil && a.daprd.running() {
		sidecar = a.daprd.cmd.Process.Pid
	}
	return app, sidecar
}

func (a *App) stop() {
	if a.app != nil {
		a.app.stop(10 * time.Second)
	}
	if a.daprd != nil {
		a.daprd.stop(10 * time.Second)
	}
}

// WaitReady waits until the app instance's readiness probe and its
// sidecar's health endpoint both pass.
func (m *Mesh) WaitReady(ctx context.Context, name string, timeout time.Duration) error {
	a := m.App(name)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	probes := []string{
		fmt.Sprintf("http://127.0.0.1:%d/readyz", a.Port),
		fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", a.DaprHTTPPort),
	}
	for {
		if a.app != nil && !a.app.running() {
			return fmt.Errorf("app %s exited before it was ready", name)
		}
		if allOK(ctx, probes) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("app %s not ready after %s", name, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func allOK(ctx context.Context, urls []string) bool {
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return false
		}
	}
	return true
}

// Logs returns the last lines of every process log, for failure reports.
func (m *Mesh) Logs() string {
	var b strings.Builder
	entries, _ := os.ReadDir(filepath.Join(m.dir, "logs"))
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(m.dir, "logs", e.Name()))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", e.Name(), strings.Join(lines, "\n"))
	}
	return b.String()
}

// repoRoot walks up from the working directory to the folder of dapr.yaml.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "dapr.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("dapr.yaml not found above the working directory")
		}
		dir = parent
	}
}

// findToolchain returns $DOUVO_TOOLCHAIN, or builds and returns the cached
// toolchain through the same script `make` uses.
func findToolchain(ctx context.Context, root string) (string, error) {
	if dir := os.Getenv("DOUVO_TOOLCHAIN"); dir != "" {
		return dir, nil
	}
	out, err := exec.CommandContext(ctx, filepath.Join(root, "deploy/local/toolchain.sh")).Output()
	if err != nil {
		return "", fmt.Errorf("build toolchain: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// build compiles every app binary into .build/bin, as `make build` does.
// Only the apps' folders are built: other commands (benchmarks under bench/)
// may share an app's base name, and `go build -o dir/` would then write both
// to one file, either one winning.
func (m *Mesh) build(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(m.root, ".build/bin")+"/",
		"./gateway/...", "./services/...")
	cmd.Dir = m.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build apps: %w\n%s", err, out)
	}
	return nil
}

// writeSecrets writes the local secret store's file, one key per line as
// deploy/local/env.sh does, with the addresses of the mesh's own servers.
func (m *Mesh) writeSecrets() error {
	mysqlPassword := randomToken()
	secrets := [][2]string{
		{"token-signing-key", randomToken()},
		{"redis-password", randomToken()},
		{"mysql-password", mysqlPassword},
		{"mysql-connection-string", fmt.Sprintf("douvo:%s@tcp(127.0.0.1:%d)/?allowNativePasswords=true",
			mysqlPassword, m.serverPorts["mariadb"])},
	}
	var b strings.Builder
	b.WriteString("{\n")
	for i, kv := range secrets {
		sep := ","
		if i == len(secrets)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  %q: %q%s\n", kv[0], kv[1], sep)
	}
	b.WriteString("}\n")
	if err := os.WriteFile(filepath.Join(m.dir, ".data/secrets.json"), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write secrets: %w", err)
	}
	return nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freePorts asks the kernel for n free loopback ports that the mesh has
// not handed out before. The kernel may offer a port again once its probe
// listener is closed, and the processes bind their ports only later, so the
// mesh remembers every port it gave.
func (m *Mesh) freePorts(n int) ([]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.given == nil {
		m.given = map[int]bool{}
	}
	var lc net.ListenConfig
	ports := make([]int, 0, n)
	for attempts := 0; len(ports) < n; attempts++ {
		if attempts > 100*n {
			return nil, errors.New("free port: the kernel keeps offering ports already given")
		}
		ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if m.given[p] {
			continue
		}
		m.given[p] = true
		ports = append(ports, p)
	}
	return ports, nil
}

// waitPort waits until something accepts connections on a loopback port.
func waitPort(ctx context.Context, port int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			_ = conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listens on port %d after %s", port, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
