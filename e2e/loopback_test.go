package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAppsAndSidecarsListenOnLoopbackOnly finds every listening TCP socket
// of every app and sidecar and checks that it is bound to a loopback
// address.
func TestAppsAndSidecarsListenOnLoopbackOnly(t *testing.T) {
	listening := listeningSockets(t)
	checked := 0
	for name, pid := range mesh.Processes() {
		for inode := range socketInodes(t, pid) {
			addr, ok := listening[inode]
			if !ok {
				continue
			}
			checked++
			require.True(t, isLoopback(addr), "%s (pid %d) listens on %s", name, pid, addr)
		}
	}
	require.Positive(t, checked, "no listening socket was found to check")
}

// socketInodes lists the socket inodes a process holds open.
func socketInodes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]bool{}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			out[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	return out
}

// listeningSockets maps the inode of every listening TCP socket of the
// machine to its local address, as /proc/net/tcp{,6} write it (hex).
func listeningSockets(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 9 && fields[3] == "0A" {
				out[fields[9]] = fields[1]
			}
		}
		require.NoError(t, sc.Err())
		f.Close()
	}
	return out
}

// isLoopback reports whether a /proc/net address (hex ip:port) is loopback.
func isLoopback(addr string) bool {
	ip, _, _ := strings.Cut(addr, ":")
	switch len(ip) {
	case 8: // IPv4, little-endian: 127.x.x.x ends in 7F
		return strings.HasSuffix(ip, "7F")
	case 32: // IPv6: ::1, or ::ffff:127.x.x.x
		return ip == "00000000000000000000000001000000" ||
			(strings.HasPrefix(ip, "0000000000000000FFFF0000") && strings.HasSuffix(ip, "7F"))
	}
	return false
}
