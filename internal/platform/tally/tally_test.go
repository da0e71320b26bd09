package tally

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// batches records the batches a Tally writes, holding each for a while so
// that the changes arriving meanwhile queue.
type batches struct {
	mu      sync.Mutex
	running map[string]int
	sizes   []int
	overlap atomic.Bool
	hold    time.Duration
}

func (b *batches) apply(_ context.Context, doc string, changes []Change) []outcome {
	b.mu.Lock()
	b.running[doc]++
	if b.running[doc] > 1 {
		b.overlap.Store(true)
	}
	b.sizes = append(b.sizes, len(changes))
	b.mu.Unlock()

	time.Sleep(b.hold)
	out := make([]outcome, len(changes))
	for i, ch := range changes {
		out[i] = outcome{applied: ch.Version%2 == 0}
	}

	b.mu.Lock()
	b.running[doc]--
	b.mu.Unlock()
	return out
}

func newTestTally(hold time.Duration) (*Tally, *batches) {
	b := &batches{running: map[string]int{}, hold: hold}
	t := New(nil, "store")
	t.apply = b.apply
	return t, b
}

func TestChangesToOneDocumentQueueIntoBatchesOneAtATime(t *testing.T) {
	t.Parallel()
	tl, b := newTestTally(20 * time.Millisecond)
	const callers = 200
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := Change{Doc: fmt.Sprintf("doc-%d", i%3), Field: "n", Source: fmt.Sprintf("src-%d", i),
				Version: int64(i + 1), Value: 1}
			applied, err := tl.Apply(context.Background(), ch)
			if err == nil && applied != (ch.Version%2 == 0) {
				err = fmt.Errorf("change %d got another change's outcome", i)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.False(t, b.overlap.Load(), "two batches of one document ran at once")
	total := 0
	for _, n := range b.sizes {
		require.LessOrEqual(t, n, maxBatch)
		total += n
	}
	require.Equal(t, callers, total, "every change is in exactly one batch")
	require.Less(t, len(b.sizes), callers/2, "changes arriving together share batches: %v", b.sizes)
	require.Empty(t, tl.queues, "no queue is left behind")
}

func TestACallerThatGivesUpLeavesTheQueueWorking(t *testing.T) {
	t.Parallel()
	tl, _ := newTestTally(50 * time.Millisecond)
	change := func(v int64) Change {
		return Change{Doc: "doc", Field: "n", Source: fmt.Sprintf("src-%d", v), Version: v, Value: 1}
	}

	// The first caller leads; the others queue behind its batch, and some
	// give up while they wait.
	lead := make(chan error, 1)
	go func() {
		_, err := tl.Apply(context.Background(), change(2))
		lead <- err
	}()
	time.Sleep(10 * time.Millisecond)
	var wg sync.WaitGroup
	results := make([]error, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i%2 == 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 5*time.Millisecond)
				defer cancel()
			}
			_, results[i] = tl.Apply(ctx, change(int64(10+i)))
		}()
	}
	wg.Wait()
	require.NoError(t, <-lead)
	for i, err := range results {
		if i%2 == 1 {
			require.NoError(t, err, "caller %d kept waiting and must get its outcome", i)
		} else if err != nil {
			require.True(t, errors.Is(err, context.DeadlineExceeded), "caller %d: %v", i, err)
		}
	}
	_, err := tl.Apply(context.Background(), change(100))
	require.NoError(t, err, "the queue still works after callers gave up")
	require.Empty(t, tl.queues)
}

func TestIncompleteChangesAreRefused(t *testing.T) {
	t.Parallel()
	tl, b := newTestTally(0)
	for _, ch := range []Change{
		{Doc: "d", Field: "n", Source: "s"},
		{Field: "n", Source: "s", Version: 1},
		{Doc: "d", Source: "s", Version: 1},
		{Doc: "d", Field: "n", Version: 1},
	} {
		_, err := tl.Apply(context.Background(), ch)
		require.Error(t, err, "%+v", ch)
	}
	require.Empty(t, b.sizes, "nothing reaches the store")
}
