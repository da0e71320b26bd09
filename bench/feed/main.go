// Command feed measures the feed through the gateway: throughput and
// latency percentiles of feed pages, anonymous and signed in (as authors who
// follow each other and like half of the first page), at the head
// of the feed, deep in it (the next_time a previous page handed out) and at
// arbitrary times, for two catalogue sizes ten times apart. Since a page
// costs a fixed number of store reads and service calls, the numbers of the
// two sizes should match; only pages at arbitrary times search, in a number
// of rounds that grows with the logarithm of the catalogue.
//
// It starts its own mesh on free ports (see internal/testmesh), seeds the
// catalogue through the public API, and runs bounded load plans: about two
// minutes in all with the defaults. Run it with `make bench-feed`.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/douvo/douvo/internal/apiclient"
	"github.com/douvo/douvo/internal/clips"
	"github.com/douvo/douvo/internal/loadgen"
	"github.com/douvo/douvo/internal/testmesh"
)

func main() {
	small := flag.Int("small", 300, "videos in the smaller catalogue")
	factor := flag.Int("factor", 10, "how many times larger the second catalogue is")
	duration := flag.Duration("duration", 5*time.Second, "length of each load run")
	workers := flag.Int("workers", 8, "concurrent clients in each load run")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *small, *small**factor, *duration, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "bench feed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, small, large int, duration time.Duration, workers int) error {
	fmt.Println("starting a mesh...")
	mesh, err := testmesh.Start(ctx, testmesh.Options{Env: map[string]string{
		"RATE_LIMIT_IP_PER_MIN":   "0",
		"RATE_LIMIT_USER_PER_MIN": "0",
		"RATE_LIMIT_AUTH_PER_MIN": "0",
		// Covers do not matter to the feed; placeholders seed faster.
		"FFMPEG_PATH": "none",
	}})
	if mesh != nil {
		defer mesh.Close()
	}
	if err != nil {
		return err
	}
	api := apiclient.New(mesh.GatewayURL())

	const authors = 20
	tokens := make([]string, authors)
	ids := make([]int64, authors)
	for i := range tokens {
		name := fmt.Sprintf("bench%d_%d", i, time.Now().UnixNano()%1_000_000)
		if ids[i], tokens[i], err = api.Register(ctx, name, "password"); err != nil {
			return err
		}
	}
	// The authors are the signed-in viewers: each follows every other, so
	// that is_follow is true for most authors on a page.
	for i, tok := range tokens {
		for j, id := range ids {
			if i != j {
				if err := api.Follow(ctx, tok, id, true); err != nil {
					return err
				}
			}
		}
	}

	fmt.Printf("mesh at %s; %d workers, %s per run\n\n", mesh.Dir(), workers, duration)
	loadgen.Header(os.Stdout)
	have := 0
	for _, size := range []int{small, large} {
		start := time.Now()
		if err := seed(ctx, api, tokens, size-have); err != nil {
			return err
		}
		have = size
		if err := likeHead(ctx, api, tokens); err != nil {
			return err
		}
		fmt.Printf("-- catalogue of %d videos (seeded in %s)\n", size, time.Since(start).Round(time.Second))
		if err := measure(ctx, api, tokens, size, duration, workers); err != nil {
			return err
		}
	}
	return nil
}

// seed publishes n videos through the public API, spread over the authors.
func seed(ctx context.Context, api *apiclient.Client, tokens []string, n int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				tok := tokens[int(i)%len(tokens)]
				if _, err := api.Publish(ctx, tok, fmt.Sprintf("bench clip %d", i), bytes.NewReader(clips.MP4)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// likeHead has every viewer like every other video of the feed's first
// page, so that signed-in pages carry both values of is_favorite.
func likeHead(ctx context.Context, api *apiclient.Client, tokens []string) error {
	page, _, err := api.Feed(ctx, "", 0)
	if err != nil {
		return err
	}
	for _, tok := range tokens {
		for i := 0; i < len(page); i += 2 {
			if err := api.Favorite(ctx, tok, page[i].ID, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// measure walks the whole feed once to learn every page's next_time, then
// runs the load plans.
func measure(ctx context.Context, api *apiclient.Client, tokens []string, size int,
	duration time.Duration, workers int,
) error {
	var times []int64
	var latest int64
	for {
		page, next, err := api.Feed(ctx, "", latest)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		times = append(times, next)
		latest = next
	}
	// The last next_time is the first video's own time: nothing is older.
	oldest, newest := times[len(times)-1], times[0]
	times = times[:len(times)-1]

	feed := func(signedIn bool, at func() int64) func(ctx context.Context, worker, n int) error {
		return func(ctx context.Context, worker, n int) error {
			tok := ""
			if signedIn {
				tok = tokens[(worker+n)%len(tokens)]
			}
			page, _, err := api.Feed(ctx, tok, at())
			if err == nil && len(page) == 0 {
				return fmt.Errorf("empty feed page")
			}
			return err
		}
	}
	head := func() int64 { return 0 }
	deep := func() int64 { return times[rand.IntN(len(times))] }
	anyTime := func() int64 { return oldest + 1 + rand.Int64N(newest-oldest) }
	plans := []struct {
		name     string
		signedIn bool
		at       func() int64
	}{
		{"head, anonymous", false, head},
		{"head, signed in", true, head},
		{"next_time page, anonymous", false, deep},
		{"next_time page, signed in", true, deep},
		{"arbitrary time, anonymous", false, anyTime},
	}
	for _, p := range plans {
		name := fmt.Sprintf("%s @%d", p.name, size)
		res := loadgen.Run(ctx, loadgen.Plan{Name: name, Workers: workers, Duration: duration},
			feed(p.signedIn, p.at))
		res.Print(os.Stdout)
	}
	return nil
}
