// Package testmesh starts a complete DouVo mesh for end-to-end tests: every
// app of dapr.yaml beside its own real daprd, Dapr placement and scheduler,
// and the servers the chosen profile's components point at, all on free
// loopback ports with data in a fresh folder. Tests drive it through the
// gateway and may stop, kill and restart single apps.
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

	placementPort int
	schedulerPort int

	mu    sync.Mutex
	infra []*proc
	apps  map[string]*App
	order []string
}

// App is one app of the mesh and its sidecar.
type App struct {
	// ID is the Dapr app-id.
	ID string
	// Port is the app's HTTP port.
	Port int
	// DaprHTTPPort and DaprGRPCPort are its sidecar's API ports.
	DaprHTTPPort, DaprGRPCPort int

	internalPort, metricsPort int
	command                   string
	env                       map[string]string
	maxBodySize, readBuffer   string
	app, daprd                *proc
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
	m = &Mesh{root: root, dir: dir, profile: profile, apps: map[string]*App{}}
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
	for _, sub := range []string{"logs", "components", ".data"} {
		if err = os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return m, fmt.Errorf("mesh folder: %w", err)
		}
	}
	if err = m.writeSecrets(); err != nil {
		return m, err
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

// App returns the app with the given id; it panics on an unknown id, which
// is a mistake in the test.
func (m *Mesh) App(id string) *App {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.apps[id]
	if !ok {
		panic("testmesh: no app " + id + " in dapr.yaml")
	}
	return a
}

// AppAPIToken is the token sidecars present to apps; a caller without it is
// refused by every app.
func (m *Mesh) AppAPIToken() string { return m.tokens[1] }

// DaprAPIToken is the token apps present to their sidecars.
func (m *Mesh) DaprAPIToken() string { return m.tokens[0] }

// Close stops every process and removes the mesh folder, unless
// DOUVO_KEEP_MESH is set.
func (m *Mesh) Close() {
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
	if os.Getenv("DOUVO_KEEP_MESH") == "" {
		_ = os.RemoveAll(m.dir)
	}
}

// StopApp stops an app and its sidecar gracefully.
func (m *Mesh) StopApp(id string) { m.App(id).stop() }

// KillApp kills an app's process at once, as a crash would, leaving its
// sidecar running.
func (m *Mesh) KillApp(id string) {
	if p := m.App(id).app; p != nil {
		p.kill()
	}
}

// StartApp starts an app, and its sidecar if that is not running, and
// waits until the app is ready.
func (m *Mesh) StartApp(ctx context.Context, id string) error {
	a := m.App(id)
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
	return m.WaitReady(ctx, id, 60*time.Second)
}

func (a *App) stop() {
	if a.app != nil {
		a.app.stop(10 * time.Second)
	}
	if a.daprd != nil {
		a.daprd.stop(10 * time.Second)
	}
}

// WaitReady waits until the app's readiness probe and its sidecar's health
// endpoint both pass.
func (m *Mesh) WaitReady(ctx context.Context, id string, timeout time.Duration) error {
	a := m.App(id)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	probes := []string{
		fmt.Sprintf("http://127.0.0.1:%d/readyz", a.Port),
		fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", a.DaprHTTPPort),
	}
	for {
		if a.app != nil && !a.app.running() {
			return fmt.Errorf("app %s exited before it was ready", id)
		}
		if allOK(ctx, probes) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("app %s not ready after %s", id, timeout)
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
		resp.Body.Close()
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

func (m *Mesh) writeSecrets() error {
	body := fmt.Sprintf(`{"token-signing-key": %q}`, randomToken())
	if err := os.WriteFile(filepath.Join(m.dir, ".data/secrets.json"), []byte(body), 0o600); err != nil {
		return fmt.Errorf("write secrets: %w", err)
	}
	return nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
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
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listens on port %d after %s", port, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
