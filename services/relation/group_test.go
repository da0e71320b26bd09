package relation

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGroupsCommitQueuedChangesTogether blocks the first commit so that
// later changes queue, then checks they are committed in groups of at most
// maxGroup, in arrival order, each caller getting its own outcome.
func TestGroupsCommitQueuedChangesTogether(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var (
		mu    sync.Mutex
		sizes []int
		order []int64
	)
	g := newGroups(func(_ context.Context, _ int64, changes []Change) ([]Outcome, error) {
		mu.Lock()
		first := len(sizes) == 0
		sizes = append(sizes, len(changes))
		for _, c := range changes {
			order = append(order, c.Follower)
		}
		mu.Unlock()
		if first {
			<-release
		}
		outs := make([]Outcome, len(changes))
		for i, c := range changes {
			outs[i] = Outcome{Changed: c.Follower%2 == 0, Following: c.Follow}
		}
		return outs, nil
	})

	var wg sync.WaitGroup
	results := make([]Outcome, 2*maxGroup+2)
	run := func(i int) {
		out, err := g.submit(context.Background(), 7, Change{Follower: int64(i), Follow: true})
		assert.NoError(t, err)
		results[i] = out
	}
	wg.Go(func() { run(0) })
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 },
		5*time.Second, time.Millisecond, "the first change is being committed")
	for i := 1; i < len(results); i++ {
		wg.Go(func() { run(i) })
	}
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.queues[7]) == len(results)-1 },
		5*time.Second, time.Millisecond, "the others queue behind it")
	close(release)
	wg.Wait()

	assert.Equal(t, []int{1, maxGroup, maxGroup, 1}, sizes)
	assert.Len(t, order, len(results))
	for i, out := range results {
		assert.Equal(t, Outcome{Changed: i%2 == 0, Following: true}, out, "outcome of change %d", i)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	assert.Empty(t, g.queues, "an idle followee has no queue")
}

func TestGroupsLeaveOutChangesWhoseCallerGaveUp(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var (
		mu      sync.Mutex
		applied []int64
	)
	g := newGroups(func(_ context.Context, _ int64, changes []Change) ([]Outcome, error) {
		mu.Lock()
		first := len(applied) == 0
		for _, c := range changes {
			applied = append(applied, c.Follower)
		}
		mu.Unlock()
		if first {
			<-release
		}
		return make([]Outcome, len(changes)), nil
	})

	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := g.submit(context.Background(), 1, Change{Follower: 10})
		assert.NoError(t, err)
	}()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(applied) == 1 },
		5*time.Second, time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := g.submit(ctx, 1, Change{Follower: 11})
	require.ErrorIs(t, err, errGaveUp)
	close(release)
	<-done
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.queues) == 0 },
		5*time.Second, time.Millisecond)
	assert.Equal(t, []int64{10}, applied, "the abandoned change was never applied")
}
