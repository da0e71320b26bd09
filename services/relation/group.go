package relation

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/douvo/douvo/internal/platform/apierr"
)

// maxGroup is the most changes committed together. With about four
// documents written per change it keeps a transaction near 150 operations,
// within what the transactional stores DouVo supports accept.
const maxGroup = 32

// groupTimeout bounds one group's commit. A group outlives the request that
// started it, so it cannot run on that request's deadline.
const groupTimeout = 10 * time.Second

// errGaveUp is what a caller whose context ended while its change waited
// gets; the change may still be applied, which a retry of it tolerates.
var errGaveUp = apierr.New(apierr.Unavailable, "the change took too long: retry it")

// applyFunc commits changes aimed at one followee.
type applyFunc func(ctx context.Context, followee int64, changes []Change) ([]Outcome, error)

// groups commits the changes aimed at one followee in groups: while one
// group is being committed the changes that arrive queue, and the next
// group takes all of them (up to maxGroup) in one transaction. A popular
// account's follow burst thus costs a few transactions rather than one per
// follower, which matters because its node and head page are written by
// every one of them.
type groups struct {
	apply applyFunc

	mu     sync.Mutex
	queues map[int64][]*pending
}

// pending is one change waiting for its group.
type pending struct {
	ctx    context.Context
	change Change
	done   chan struct{}
	out    Outcome
	err    error
}

func newGroups(apply applyFunc) *groups {
	return &groups{apply: apply, queues: make(map[int64][]*pending)}
}

// submit queues a change and waits for the group that commits it. The
// first change for an idle followee starts a goroutine that commits groups
// until the followee's queue is empty.
func (g *groups) submit(ctx context.Context, followee int64, c Change) (Outcome, error) {
	p := &pending{ctx: ctx, change: c, done: make(chan struct{})}
	g.mu.Lock()
	q, busy := g.queues[followee]
	g.queues[followee] = append(q, p)
	g.mu.Unlock()
	if !busy {
		go g.drain(context.WithoutCancel(ctx), followee)
	}

	select {
	case <-p.done:
		return p.out, p.err
	case <-ctx.Done():
		return Outcome{}, fmt.Errorf("change relation: %w: %w", errGaveUp, ctx.Err())
	}
}

// drain commits the followee's queue group by group. The queue's entry in
// the map stays while drain runs, which is what tells submit that it does.
func (g *groups) drain(ctx context.Context, followee int64) {
	for {
		batch := g.take(followee)
		if batch == nil {
			return
		}
		g.commit(ctx, followee, batch)
	}
}

// take removes up to maxGroup changes from the followee's queue, or, when
// it is empty, removes the queue and returns nil.
func (g *groups) take(followee int64) []*pending {
	g.mu.Lock()
	defer g.mu.Unlock()
	q := g.queues[followee]
	if len(q) == 0 {
		delete(g.queues, followee)
		return nil
	}
	n := min(len(q), maxGroup)
	batch := q[:n:n]
	g.queues[followee] = q[n:]
	return batch
}

// commit applies the batch's live changes together and hands each its
// result. Changes whose caller has given up are left out.
func (g *groups) commit(ctx context.Context, followee int64, batch []*pending) {
	live := make([]*pending, 0, len(batch))
	changes := make([]Change, 0, len(batch))
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.err = fmt.Errorf("change relation: %w: %w", errGaveUp, err)
			close(p.done)
			continue
		}
		live = append(live, p)
		changes = append(changes, p.change)
	}
	if len(live) == 0 {
		return
	}

	ctx, cancel := context.WithTimeout(ctx, groupTimeout)
	defer cancel()
	outs, err := g.apply(ctx, followee, changes)
	for i, p := range live {
		if err != nil {
			p.err = err
		} else {
			p.out = outs[i]
		}
		close(p.done)
	}
}
