package relation

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/douvo/douvo/services/user"
)

// Users resolves user ids; user.Client implements it through the sidecar.
type Users interface {
	// Batch returns the users among ids that exist.
	Batch(ctx context.Context, ids []int64) ([]user.User, error)
}

// Notifier learns that a followee's outbox shard holds new events;
// Relay implements it.
type Notifier interface {
	Notify(shard int)
}

// Service implements the relation service's business rules over a Store.
type Service struct {
	store  Store
	users  Users
	known  *knownUsers
	notify Notifier
	groups *groups
	now    func() time.Time
}

// NewService returns a Service on store that checks users with users and
// tells notify about every committed event.
func NewService(store Store, users Users, notify Notifier) *Service {
	s := &Service{store: store, users: users, known: newKnownUsers(), notify: notify, now: time.Now}
	s.groups = newGroups(s.commit)
	return s
}

// Follow makes follower follow followee. Following a user already followed
// succeeds and changes nothing. The followee must exist; the follower is
// the authenticated caller and is trusted to.
func (s *Service) Follow(ctx context.Context, follower, followee int64) (Outcome, error) {
	return s.change(ctx, Change{Follower: follower, Follow: true}, followee)
}

// Unfollow makes follower stop following followee. Unfollowing a user not
// followed succeeds and changes nothing; the followee must exist.
func (s *Service) Unfollow(ctx context.Context, follower, followee int64) (Outcome, error) {
	return s.change(ctx, Change{Follower: follower, Follow: false}, followee)
}

func (s *Service) change(ctx context.Context, c Change, followee int64) (Outcome, error) {
	if c.Follower <= 0 || followee <= 0 {
		return Outcome{}, ErrBadID
	}
	if c.Follower == followee {
		return Outcome{}, ErrSelfFollow
	}
	if err := s.checkUser(ctx, followee); err != nil {
		return Outcome{}, err
	}
	return s.groups.submit(ctx, followee, c)
}

// checkUser returns ErrUserNotFound unless the user exists.
func (s *Service) checkUser(ctx context.Context, id int64) error {
	if s.known.has(id) {
		return nil
	}
	found, err := s.users.Batch(ctx, []int64{id})
	if err != nil {
		return fmt.Errorf("check user: %w", err)
	}
	if len(found) == 0 {
		return ErrUserNotFound
	}
	s.known.add(id)
	return nil
}

// commit stores a group of changes and tells the relay when it produced
// events.
func (s *Service) commit(ctx context.Context, followee int64, changes []Change) ([]Outcome, error) {
	outs, err := s.store.Apply(ctx, followee, changes, s.now())
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(outs, func(o Outcome) bool { return o.Changed }) {
		s.notify.Notify(s.store.Shard(followee))
	}
	return outs, nil
}

// Relations returns, for each of ids in order, its counters and whether
// viewer (0 for an anonymous viewer) follows it. Duplicate and unknown ids
// are answered like any other.
func (s *Service) Relations(ctx context.Context, viewer int64, ids []int64) ([]Relation, error) {
	if len(ids) > MaxBatch {
		return nil, ErrBatchTooLarge
	}
	if viewer < 0 || slices.ContainsFunc(ids, func(id int64) bool { return id <= 0 }) {
		return nil, ErrBadID
	}
	rels, err := s.store.Relations(ctx, viewer, ids)
	if err != nil {
		return nil, fmt.Errorf("relations: %w", err)
	}
	return rels, nil
}

// List returns a page of one of user's lists, newest entry first. A limit
// of 0 means DefaultLimit; cursor is empty for the first page, or the Next
// of the previous page. The list of an unknown user is empty.
func (s *Service) List(ctx context.Context, user int64, list List, limit int, cursor string) (Page, error) {
	switch {
	case user <= 0:
		return Page{}, ErrBadID
	case !list.Valid():
		return Page{}, ErrBadList
	case limit < 0 || limit > MaxLimit:
		return Page{}, ErrBadLimit
	case limit == 0:
		limit = DefaultLimit
	}
	page, err := s.store.List(ctx, user, list, limit, cursor)
	if err != nil {
		return Page{}, fmt.Errorf("list %s: %w", list, err)
	}
	return page, nil
}

// maxKnownUsers bounds the users remembered as existing.
const maxKnownUsers = 100_000

// knownUsers remembers users the user service confirmed, so that a burst of
// follows of one account checks it once. Accounts are never deleted, so a
// confirmed id stays valid. The set starts over when it is full.
//
// TODO(relation): should accounts become deletable, forget them on the user
// service's deletion events.
type knownUsers struct {
	mu  sync.Mutex
	ids map[int64]struct{}
}

func newKnownUsers() *knownUsers { return &knownUsers{ids: make(map[int64]struct{})} }

func (k *knownUsers) has(id int64) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.ids[id]
	return ok
}

func (k *knownUsers) add(id int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.ids) >= maxKnownUsers {
		clear(k.ids)
	}
	k.ids[id] = struct{}{}
}
