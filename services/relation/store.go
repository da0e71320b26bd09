package relation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	dapr "github.com/dapr/go-sdk/client"
)

// StoreName is the Dapr state store component the relation service owns.
// The component is scoped to AppID, so no other service can read it.
const StoreName = "relationstore"

// Change is one follow or unfollow asked of the store.
type Change struct {
	// Follower is the user who follows or unfollows.
	Follower int64
	// Follow is true to follow, false to unfollow.
	Follow bool
}

// Store is what the relation service needs from storage.
type Store interface {
	// Apply makes the changes, in order, all aimed at followee, and commits
	// them atomically: either every real change, its counters, list entries
	// and event are stored, or nothing is. Changes that find the edge
	// already as asked change nothing.
	Apply(ctx context.Context, followee int64, changes []Change, at time.Time) ([]Outcome, error)
	// Relations reads the counters of ids and whether viewer follows each,
	// in the order of ids. Unknown ids have zero counters.
	Relations(ctx context.Context, viewer int64, ids []int64) ([]Relation, error)
	// List reads up to limit entries of a user's list, newest first,
	// starting after cursor (empty for the newest).
	List(ctx context.Context, user int64, list List, limit int, cursor string) (Page, error)
	// Outbox is the store's queue of events not yet known to be published.
	Outbox
}

// Outbox is the queue of events a change stores with itself, split into
// shards so that changes to unrelated users do not contend on one document.
type Outbox interface {
	// Shards is the number of outbox shards.
	Shards() int
	// Shard is the shard that holds the events of changes aimed at followee.
	Shard(followee int64) int
	// Pending lists a shard's events, oldest first.
	Pending(ctx context.Context, shard int) ([]Event, error)
	// Ack removes published events from a shard.
	Ack(ctx context.Context, shard int, ids []string) error
}

// Storage tuning. PageSize may change at any time. The number of outbox
// shards may only grow: events left in a shard beyond a lowered count would
// never be published.
const (
	// PageSize is the most entries a list page holds.
	PageSize = 100
	// outboxShards is the number of outbox documents.
	outboxShards = 64
	// maxPending bounds the events of one outbox shard: when publishing
	// stalls (the broker is down) changes aimed at the shard are refused
	// with ErrBacklog rather than letting the document grow.
	maxPending = 2000
	// maxAttempts bounds the optimistic retries of one commit.
	maxAttempts = 16
)

// Keys of the relation store; Dapr prefixes them with the app-id.
//
//	pair-<lo>-<hi>            pairDoc: both follow edges between two users, lo < hi
//	node-<user>               nodeDoc: the heads and lengths of a user's three lists
//	page-<list>-<user>-<n>    pageDoc: page n of a list, at most PageSize entries
//	outbox-<shard>            outboxDoc: events committed but not yet published
const (
	pairPrefix   = "pair-"
	nodePrefix   = "node-"
	pagePrefix   = "page-"
	outboxPrefix = "outbox-"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func pairKey(a, b int64) string {
	lo, hi := min(a, b), max(a, b)
	return pairPrefix + itoa(lo) + "-" + itoa(hi)
}

func nodeKey(user int64) string { return nodePrefix + itoa(user) }

func pageKey(list List, user, n int64) string {
	return pagePrefix + string(list) + "-" + itoa(user) + "-" + itoa(n)
}

func outboxKey(shard int) string { return outboxPrefix + strconv.Itoa(shard) }

// pairDoc holds both directed edges between two users: keeping them in one
// document means the two directions, which together decide friendship, are
// always read and written together.
type pairDoc struct {
	// LoHi is the edge from the lower id to the higher, HiLo the reverse.
	LoHi edgeState `json:"lo_hi"`
	HiLo edgeState `json:"hi_lo"`
}

// edges returns the edge a→b and the reverse edge b→a.
func (p *pairDoc) edges(a, b int64) (ab, ba *edgeState) {
	if a < b {
		return &p.LoHi, &p.HiLo
	}
	return &p.HiLo, &p.LoHi
}

// edgeState is one directed edge a→b.
type edgeState struct {
	Following bool `json:"following,omitempty"`
	// Version counts the edge's changes; it names its events.
	Version int64 `json:"version,omitempty"`
	// At is when the edge last changed, in Unix milliseconds.
	At int64 `json:"at,omitempty"`
	// Where the edge's list entries sit while it is followed: b in a's
	// following list, a in b's followers list and, while mutual, b in a's
	// friends list (the reverse edge records a in b's friends list).
	OutPage    int64 `json:"out_page,omitempty"`
	InPage     int64 `json:"in_page,omitempty"`
	FriendPage int64 `json:"friend_page,omitempty"`
}

// nodeDoc holds a user's three list heads.
type nodeDoc struct {
	Following listHead `json:"following"`
	Followers listHead `json:"followers"`
	Friends   listHead `json:"friends"`
}

func (n *nodeDoc) head(list List) *listHead {
	switch list {
	case Following:
		return &n.Following
	case Followers:
		return &n.Followers
	default:
		return &n.Friends
	}
}

// listHead describes one list: its exact length, which is the counter
// shown to clients, and its chain of pages.
type listHead struct {
	Len int64 `json:"len"`
	// Head is the newest page, 0 before the first entry.
	Head int64 `json:"head,omitempty"`
	// Last is the highest page number ever given; pages are never reused.
	Last int64 `json:"last,omitempty"`
	// Seq is the highest entry sequence number ever given; entries are
	// numbered in the order they joined the list.
	Seq int64 `json:"seq,omitempty"`
}

// pageDoc is one page of a list. Only the head page receives new entries,
// so every entry of a page is newer than every entry of the pages it links
// to as older. Only the head page may be empty: any other page is unlinked
// when its last entry leaves.
type pageDoc struct {
	Older int64 `json:"older,omitempty"`
	Newer int64 `json:"newer,omitempty"`
	// Entries are in the order they joined, oldest first.
	Entries []entry `json:"entries"`
}

// entry is one user in a list.
type entry struct {
	ID  int64 `json:"id"`
	Seq int64 `json:"seq"`
	// At is when the entry joined, in Unix milliseconds.
	At int64 `json:"at"`
}

// outboxDoc holds committed events until the Relay has published them.
type outboxDoc struct {
	Events []Event `json:"events"`
}

// DaprStore keeps the social graph in a Dapr state store that supports
// transactions and ETags.
type DaprStore struct {
	dapr  dapr.Client
	name  string
	locks *lockTable
}

// NewDaprStore returns a Store on the Dapr state store component called name.
func NewDaprStore(client dapr.Client, name string) *DaprStore {
	return &DaprStore{dapr: client, name: name, locks: newLockTable()}
}

// shardLock is the lock-table key of an outbox shard; user ids are positive.
func shardLock(shard int) int64 { return -1 - int64(shard) }

// Apply implements Store. It holds the in-process locks of every user
// involved and of the outbox shard while it reads and commits.
func (s *DaprStore) Apply(ctx context.Context, followee int64, changes []Change, at time.Time) ([]Outcome, error) {
	keys := []int64{followee, shardLock(s.Shard(followee))}
	for _, c := range changes {
		keys = append(keys, c.Follower)
	}
	unlock, err := s.locks.lock(ctx, keys)
	if err != nil {
		return nil, err
	}
	defer unlock()

	var outs []Outcome
	err = s.transact(ctx, func(w *workset) error {
		var err error
		outs, err = s.apply(ctx, w, followee, changes, at.UnixMilli())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("apply relation changes: %w", err)
	}
	return outs, nil
}

// transact runs fn on a fresh workset and commits what it marked, running
// it again on fresh reads when another writer changed one of the documents
// in between. Nothing is written when fn marks nothing.
func (s *DaprStore) transact(ctx context.Context, fn func(w *workset) error) error {
	for attempt := range maxAttempts {
		w := newWorkset(s.dapr, s.name)
		if err := fn(w); err != nil {
			return err
		}
		if !w.changed() {
			return nil
		}
		commitErr := w.commit(ctx)
		if commitErr == nil {
			return nil
		}
		lost, err := w.conflicted(ctx)
		if err != nil {
			return errors.Join(commitErr, err)
		}
		if !lost {
			return commitErr
		}
		if err := pause(ctx, attempt); err != nil {
			return err
		}
	}
	return ErrContention
}

// pause waits a little longer after each lost race, with jitter so that
// instances racing on the same users drift apart.
func pause(ctx context.Context, attempt int) error {
	d := time.Duration(1+rand.IntN(1<<min(attempt, 6))) * time.Millisecond //nolint:gosec // jitter, not a secret
	select {
	case <-ctx.Done():
		return fmt.Errorf("retry relation change: %w: %w", ErrContention, ctx.Err())
	case <-time.After(d):
		return nil
	}
}

// Relations implements Store with one bulk read: the node of every id and
// the pair of the viewer with every id.
func (s *DaprStore) Relations(ctx context.Context, viewer int64, ids []int64) ([]Relation, error) {
	if len(ids) == 0 {
		return []Relation{}, nil
	}
	w := newWorkset(s.dapr, s.name)
	keys := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		keys = append(keys, nodeKey(id))
		if viewer > 0 && viewer != id {
			keys = append(keys, pairKey(viewer, id))
		}
	}
	if err := w.load(ctx, keys...); err != nil {
		return nil, fmt.Errorf("read relations: %w", err)
	}

	out := make([]Relation, 0, len(ids))
	for _, id := range ids {
		n := w.slots[nodeKey(id)].doc.(*nodeDoc)
		r := Relation{ID: id, FollowCount: n.Following.Len, FollowerCount: n.Followers.Len,
			FriendCount: n.Friends.Len}
		if viewer > 0 && viewer != id {
			ab, _ := w.slots[pairKey(viewer, id)].doc.(*pairDoc).edges(viewer, id)
			r.IsFollow = ab.Following
		}
		out = append(out, r)
	}
	return out, nil
}

// Shards implements Outbox.
func (s *DaprStore) Shards() int { return outboxShards }

// Shard implements Outbox.
func (s *DaprStore) Shard(followee int64) int { return int(followee % outboxShards) }

// Pending implements Outbox.
func (s *DaprStore) Pending(ctx context.Context, shard int) ([]Event, error) {
	item, err := s.dapr.GetState(ctx, s.name, outboxKey(shard), nil)
	if err != nil {
		return nil, fmt.Errorf("read outbox %d: %w", shard, err)
	}
	doc, err := decodeDoc(outboxKey(shard), item.Value)
	if err != nil {
		return nil, err
	}
	return doc.(*outboxDoc).Events, nil
}

// Ack implements Outbox. It holds the shard's lock so that it does not
// race the changes of this instance.
func (s *DaprStore) Ack(ctx context.Context, shard int, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	unlock, err := s.locks.lock(ctx, []int64{shardLock(shard)})
	if err != nil {
		return err
	}
	defer unlock()

	acked := make(map[string]bool, len(ids))
	for _, id := range ids {
		acked[id] = true
	}
	key := outboxKey(shard)
	err = s.transact(ctx, func(w *workset) error {
		doc, err := w.doc(ctx, key)
		if err != nil {
			return err
		}
		ob := doc.(*outboxDoc)
		kept := slices.DeleteFunc(slices.Clone(ob.Events), func(e Event) bool { return acked[e.ID] })
		if len(kept) != len(ob.Events) {
			ob.Events = kept
			w.touch(key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ack outbox %d: %w", shard, err)
	}
	return nil
}
