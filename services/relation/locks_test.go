package relation

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLockTableExcludesAndNeverDeadlocks has goroutines take random,
// overlapping key sets in random order and checks that no key is ever held
// twice and that everyone finishes.
func TestLockTableExcludesAndNeverDeadlocks(t *testing.T) {
	t.Parallel()
	table := newLockTable()
	var (
		mu      sync.Mutex
		holders = map[int64]int{}
		wg      sync.WaitGroup
	)
	for g := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 200 {
				keys := []int64{rng.Int64N(8) - 2, rng.Int64N(8) - 2, rng.Int64N(8) - 2}
				unlock, err := table.lock(context.Background(), keys)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				for _, k := range uniq(keys) {
					holders[k]++
					assert.Equal(t, 1, holders[k], "key %d held twice", k)
				}
				mu.Unlock()
				mu.Lock()
				for _, k := range uniq(keys) {
					holders[k]--
				}
				mu.Unlock()
				unlock()
			}
		})
	}
	wg.Wait()
	assert.Empty(t, table.entries, "entries live only while held or awaited")
}

func TestLockTableGivesUpWithTheContext(t *testing.T) {
	t.Parallel()
	table := newLockTable()
	unlock, err := table.lock(context.Background(), []int64{1, 2})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = table.lock(ctx, []int64{0, 2})
	require.ErrorIs(t, err, ErrContention)

	unlock()
	unlock2, err := table.lock(context.Background(), []int64{0, 1, 2})
	require.NoError(t, err, "a waiter that gave up leaves no lock behind")
	unlock2()
	assert.Empty(t, table.entries)
}

func uniq(keys []int64) []int64 {
	var out []int64
	for _, k := range keys {
		seen := false
		for _, o := range out {
			seen = seen || o == k
		}
		if !seen {
			out = append(out, k)
		}
	}
	return out
}
