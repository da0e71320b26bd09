package video

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/douvo/douvo/internal/clips"
)

// The stores below stand in for the Dapr state store and binding only to
// make a later step of a publish fail on demand, which the real ones do not
// do on request; the end-to-end tests cover the real ones.

// memBlobs keeps blobs in memory and fails the Put numbered failAt (from 1):
// with landed, that Put stores the blob and reports a failure all the same,
// as a write whose answer was lost does.
type memBlobs struct {
	mu     sync.Mutex
	blobs  map[string][]byte
	puts   int
	failAt int
	landed bool
}

func (m *memBlobs) Put(_ context.Context, key string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	if m.puts == m.failAt && !m.landed {
		return errors.New("store is full")
	}
	m.blobs[key] = append([]byte(nil), data...)
	if m.puts == m.failAt {
		return errors.New("answer lost")
	}
	return nil
}

func (m *memBlobs) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[key]
	if !ok {
		return nil, errors.New("no such blob")
	}
	return b, nil
}

func (m *memBlobs) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.blobs[key]; !ok {
		return errors.New("no such blob")
	}
	delete(m.blobs, key)
	return nil
}

// refusingStore refuses every commit.
type refusingStore struct{ Store }

func (refusingStore) Create(context.Context, Record, int64) (Record, error) {
	return Record{}, errors.New("database is locked")
}

type placeholderCovers struct{}

func (placeholderCovers) Cover(_ context.Context, _, seed string) ([]byte, error) {
	return Placeholder(seed)
}

func TestFailedPublishLeavesNoBlobs(t *testing.T) {
	t.Parallel()
	const size = 3*ChunkSize + 100
	cases := []struct {
		name   string
		failAt int
		landed bool
		want   string
	}{
		{"commit fails", 0, false, "database is locked"},
		{"third chunk fails", 3, false, "store is full"},
		{"cover fails", 5, false, "store is full"},
		{"third chunk lands but reports a failure", 3, true, "answer lost"},
		{"cover lands but reports a failure", 5, true, "answer lost"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			blobs := &memBlobs{blobs: map[string][]byte{}, failAt: c.failAt, landed: c.landed}
			svc := NewService(refusingStore{}, blobs, placeholderCovers{},
				Config{MaxUpload: DefaultMaxUpload, SpoolDir: t.TempDir()})
			_, err := svc.Publish(context.Background(), 1, "title", clips.Padded(clips.MP4, size), size)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Positive(t, blobs.puts, "blobs were written before the failure")
			assert.Empty(t, blobs.blobs, "every blob written was deleted")
		})
	}
}

func TestPublishRefusesAFileThatDoesNotArriveWhole(t *testing.T) {
	t.Parallel()
	blobs := &memBlobs{blobs: map[string][]byte{}}
	svc := NewService(refusingStore{}, blobs, placeholderCovers{},
		Config{MaxUpload: DefaultMaxUpload, SpoolDir: t.TempDir()})
	cut := io.LimitReader(clips.Padded(clips.MP4, 2*ChunkSize), ChunkSize)
	_, err := svc.Publish(context.Background(), 1, "title", cut, 2*ChunkSize)
	assert.ErrorIs(t, err, ErrCutOff)
	assert.Zero(t, blobs.puts)
}
