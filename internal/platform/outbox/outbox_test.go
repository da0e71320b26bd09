package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/douvo/douvo/internal/platform/events"
)

// record is an in-memory record with an outbox.
type record struct {
	version int64
	pending bool
}

// memRecords keeps records in memory; a record changes while the relay
// watches it when a change is scheduled for a given read.
type memRecords struct {
	mu      sync.Mutex
	recs    map[string]*record
	reads   int
	onRead  map[int]func(r *record)
	cleared []int64
}

func (m *memRecords) Pending(_ context.Context, key string) (int64, *Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	r, ok := m.recs[key]
	if !ok {
		r = &record{}
		m.recs[key] = r
	}
	if f := m.onRead[m.reads]; f != nil {
		f(r)
	}
	if !r.pending {
		return r.version, nil, nil
	}
	return r.version, &Event{Topic: "things", ID: key + "-v", Data: r.version}, nil
}

func (m *memRecords) Published(_ context.Context, key string, version int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.recs[key]; r.version == version {
		r.pending = false
		m.cleared = append(m.cleared, version)
	}
	return nil
}

// memPublisher remembers what it published.
type memPublisher struct {
	mu  sync.Mutex
	ids []string
}

func (p *memPublisher) Publish(_ context.Context, _, id string, _ any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids = append(p.ids, id)
	return nil
}

// steppingClock starts at base and moves on by step at every reading, so
// that the relay's waits elapse however fast the test runs.
func steppingClock(base time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := base
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
}

func TestRelayCompletesOnlyWhatWasCommitted(t *testing.T) {
	t.Parallel()
	base := time.UnixMilli(1_700_000_000_000)
	intent := func(version int64, at time.Time) Intent {
		return Intent{Key: "rec", Version: version, At: at.UnixMilli(),
			Deadline: at.Add(commitWindow).UnixMilli()}
	}
	cases := []struct {
		name      string
		rec       record
		intent    Intent
		onRead    map[int]func(r *record)
		wantErr   error
		published []string
		cleared   []int64
	}{
		{
			name:   "finished by its process",
			rec:    record{version: 3},
			intent: intent(3, base),
		},
		{
			name:   "overtaken by a later change, finished too",
			rec:    record{version: 5},
			intent: intent(3, base),
		},
		{
			name:      "committed, and its process died before publishing",
			rec:       record{version: 3, pending: true},
			intent:    intent(3, base.Add(-time.Minute)),
			published: []string{"rec-v"},
			cleared:   []int64{3},
		},
		{
			name:      "a later change left pending: its event is the one to publish",
			rec:       record{version: 4, pending: true},
			intent:    intent(3, base.Add(-time.Minute)),
			published: []string{"rec-v"},
			cleared:   []int64{4},
		},
		{
			name:   "committed moments ago: its process publishes it",
			rec:    record{version: 3, pending: true},
			intent: intent(3, base),
			onRead: map[int]func(r *record){3: func(r *record) { r.pending = false }},
		},
		{
			name:   "arrived before the commit it announces",
			rec:    record{version: 2},
			intent: intent(3, base),
			onRead: map[int]func(r *record){2: func(r *record) { r.version = 3 }},
		},
		{
			name:   "never committed, and past its deadline",
			rec:    record{version: 2},
			intent: intent(3, base.Add(-time.Minute)),
		},
		{
			name:    "not committed yet, within its deadline",
			rec:     record{version: 2},
			intent:  intent(3, base),
			wantErr: errWait,
		},
		{
			name:    "without a key",
			intent:  Intent{Version: 1},
			wantErr: events.ErrDrop,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := tc.rec
			recs := &memRecords{recs: map[string]*record{"rec": &rec}, onRead: tc.onRead}
			pub := &memPublisher{}
			o := New(pub, "intents", recs, slog.New(slog.NewTextHandler(io.Discard, nil)))
			o.now = steppingClock(base, 100*time.Millisecond)
			data, err := json.Marshal(tc.intent)
			require.NoError(t, err)

			err = o.relay(context.Background(), events.Message{ID: "i1", Topic: "intents", Data: data})
			if tc.wantErr != nil {
				require.True(t, errors.Is(err, tc.wantErr), "got %v", err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.published, pub.ids)
			require.Equal(t, tc.cleared, recs.cleared)
		})
	}
}

func TestBeginBoundsTheCommitByTheIntentsDeadline(t *testing.T) {
	t.Parallel()
	pub := &memPublisher{}
	o := New(pub, "intents", &memRecords{recs: map[string]*record{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()

	commit, done, err := o.Begin(ctx, "rec", 7)
	require.NoError(t, err)
	defer done()
	deadline, ok := commit.Deadline()
	require.True(t, ok)
	require.WithinDuration(t, time.Now().Add(commitWindow), deadline, time.Second,
		"the commit must land within the window the intent announced")
	require.Len(t, pub.ids, 1, "the intent is published before the commit")
}
