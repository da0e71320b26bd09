// Package loadgen drives a bounded load against a running DouVo and reports
// throughput and latency percentiles. Benchmark programs under bench/ use it;
// tests never assert on its numbers.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Plan bounds a load run: it stops after Requests calls or after Duration,
// whichever comes first.
type Plan struct {
	// Name labels the run in reports.
	Name string
	// Workers is the number of concurrent callers.
	Workers int
	// Requests caps the total number of calls; zero means no cap.
	Requests int
	// Duration bounds when calls may start; those in flight then finish.
	// It must be set.
	Duration time.Duration
}

// Result is what a run measured.
type Result struct {
	Name       string
	Workers    int
	Requests   int
	Errors     int
	Elapsed    time.Duration
	Throughput float64
	P50, P90   time.Duration
	P99, Max   time.Duration
	FirstError error
}

// Run calls fn from plan.Workers goroutines until the plan's bounds are
// reached. fn gets the worker number and the call number within the run.
func Run(ctx context.Context, plan Plan, fn func(ctx context.Context, worker, n int) error) Result {
	if plan.Workers <= 0 {
		plan.Workers = 1
	}
	// Calls are not cut off when the time is up: each worker stops starting
	// new ones, and those in flight finish and count. Cancelling a service
	// invocation while its sidecar streams the answer crashes Dapr 1.16's
	// sidecar (dapr/dapr#10371), and a cut-off call measures nothing.
	deadline := time.Now().Add(plan.Duration)

	var (
		next     atomic.Int64
		errCount atomic.Int64
		firstErr atomic.Pointer[error]
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, 1024)
		wg       sync.WaitGroup
	)
	start := time.Now()
	for w := range plan.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 256)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n := int(next.Add(1)) - 1
				if plan.Requests > 0 && n >= plan.Requests {
					break
				}
				t0 := time.Now()
				err := fn(ctx, w, n)
				if ctx.Err() != nil {
					break
				}
				local = append(local, time.Since(t0))
				if err != nil {
					errCount.Add(1)
					firstErr.CompareAndSwap(nil, &err)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	slices.Sort(lat)
	r := Result{
		Name: plan.Name, Workers: plan.Workers, Requests: len(lat),
		Errors: int(errCount.Load()), Elapsed: elapsed,
		P50: percentile(lat, 0.50), P90: percentile(lat, 0.90),
		P99: percentile(lat, 0.99), Max: percentile(lat, 1),
	}
	if elapsed > 0 {
		r.Throughput = float64(len(lat)) / elapsed.Seconds()
	}
	if e := firstErr.Load(); e != nil {
		r.FirstError = *e
	}
	return r
}

// percentile reads the q-quantile of sorted latencies.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// Header writes the column heads of Print's table.
func Header(w io.Writer) {
	fmt.Fprintf(w, "%-34s %7s %8s %6s %10s %9s %9s %9s %9s\n",
		"scenario", "workers", "requests", "errors", "req/s", "p50", "p90", "p99", "max")
}

// Print writes the result as one table row, and its first error if any.
func (r Result) Print(w io.Writer) {
	fmt.Fprintf(w, "%-34s %7d %8d %6d %10.1f %9s %9s %9s %9s\n",
		r.Name, r.Workers, r.Requests, r.Errors, r.Throughput,
		round(r.P50), round(r.P90), round(r.P99), round(r.Max))
	if r.FirstError != nil {
		fmt.Fprintf(w, "    first error: %v\n", r.FirstError)
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}
