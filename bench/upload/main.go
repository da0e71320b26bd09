// Command upload measures what large videos cost on their way in and out:
// for clips of growing size it publishes one through the gateway, then
// downloads it whole, and reports the time taken and the peak resident
// memory of the gateway, the video service and their two sidecars during
// each transfer, above what each held before it. Uploads and downloads
// stream, so the peaks should not grow with the file.
//
// It starts its own mesh on free ports (see internal/testmesh). Run it with
// `make bench-upload`.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/douvo/douvo/internal/apiclient"
	"github.com/douvo/douvo/internal/clips"
	"github.com/douvo/douvo/internal/testmesh"
)

func main() {
	sizes := flag.String("sizes", "10,50,100", "clip sizes in MiB, at most the upload limit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *sizes); err != nil {
		fmt.Fprintln(os.Stderr, "bench upload:", err)
		os.Exit(1)
	}
}

// watched is a process whose memory is sampled.
type watched struct {
	name string
	pid  int
}

func run(ctx context.Context, sizes string) error {
	fmt.Println("starting a mesh...")
	mesh, err := testmesh.Start(ctx, testmesh.Options{Env: map[string]string{
		"RATE_LIMIT_IP_PER_MIN": "0", "RATE_LIMIT_USER_PER_MIN": "0", "RATE_LIMIT_AUTH_PER_MIN": "0",
	}})
	if mesh != nil {
		defer mesh.Close()
	}
	if err != nil {
		return err
	}
	var procs []watched
	for _, id := range []string{"gateway", "video"} {
		app, sidecar := mesh.App(id).PIDs()
		procs = append(procs, watched{id, app}, watched{id + " sidecar", sidecar})
	}
	api := apiclient.New(mesh.GatewayURL())
	_, token, err := api.Register(ctx, fmt.Sprintf("uploader%d", time.Now().UnixNano()%1_000_000), "password")
	if err != nil {
		return err
	}

	fmt.Printf("%-10s %-9s %8s %9s", "transfer", "size", "seconds", "MiB/s")
	for _, p := range procs {
		fmt.Printf(" %16s", p.name)
	}
	fmt.Println("   (peak RSS above baseline, MiB)")
	for _, field := range strings.Split(sizes, ",") {
		mib, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			return fmt.Errorf("size %q: %w", field, err)
		}
		size := int64(mib) << 20
		var v apiclient.Video
		err = measure(procs, "upload", size, func() error {
			v, err = api.Publish(ctx, token, fmt.Sprintf("%d MiB", mib), clips.Padded(clips.MP4, size))
			return err
		})
		if err != nil {
			return err
		}
		err = measure(procs, "download", size, func() error {
			return download(ctx, v.PlayURL, size)
		})
		if err != nil {
			return err
		}
		err = measure(procs, "1MiB seeks", size, func() error {
			return seeks(ctx, v.PlayURL, size)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// measure runs transfer while sampling the processes' memory, and prints a
// row.
func measure(procs []watched, name string, size int64, transfer func() error) error {
	base := make([]int64, len(procs))
	peak := make([]int64, len(procs))
	for i, p := range procs {
		base[i] = rss(p.pid)
		peak[i] = base[i]
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			for i, p := range procs {
				peak[i] = max(peak[i], rss(p.pid))
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	err := transfer()
	elapsed := time.Since(start)
	close(done)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("%s of %d bytes: %w", name, size, err)
	}
	fmt.Printf("%-10s %5d MiB %8.2f %9.1f", name, size>>20, elapsed.Seconds(),
		float64(size>>20)/elapsed.Seconds())
	for i := range procs {
		fmt.Printf(" %16.1f", float64(peak[i]-base[i])/(1<<20))
	}
	fmt.Println()
	return nil
}

// download fetches url whole and checks its length.
func download(ctx context.Context, url string, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || n != size {
		return fmt.Errorf("got status %d and %d bytes", resp.StatusCode, n)
	}
	return nil
}

// seeks fetches url in consecutive 1 MiB ranges, as a player seeking
// through it would.
func seeks(ctx context.Context, url string, size int64) error {
	for off := int64(0); off < size; off += 1 << 20 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+1<<20-1))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusPartialContent {
			return fmt.Errorf("range at %d: status %d", off, resp.StatusCode)
		}
	}
	return nil
}

// rss reads a process's resident set size in bytes, 0 when unknown.
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
