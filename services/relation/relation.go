// Package relation is DouVo's relation service: who follows whom. It owns the
// follow edges, the follow, follower and friend lists of every user, the
// follow_count and follower_count shown on User objects, and the is_follow
// flag of a viewer towards any user. Every real change of an edge is
// published as an Event on Topic.
//
// # Storage
//
// Following costs a fixed number of store operations, whatever the size of
// the accounts involved, and no document grows without bound (see DaprStore
// for the key layout):
//
//   - one small document per pair of users that ever followed each other,
//     holding both directed edges (membership, each edge's version, and
//     where its entries sit in the lists), so that the two directions that
//     decide friendship are read and written together;
//   - one node document per user with the three list lengths, which are the
//     exact counters, and the head of each list;
//   - each list is a chain of pages of at most PageSize entries, newest
//     first; an entry is removed from its page on unfollow, and a page that
//     empties is unlinked, so lists hold live entries only;
//   - an outbox of events, split over a fixed set of documents, that the
//     Relay drains.
//
// # Exactness
//
// One change of one edge (its pair document, both nodes, the list pages it
// touches and its outbox event) is committed as one state transaction. Every
// write carries the ETag the document had when read, and every document the
// change's decisions rest on is written, so a crash never leaves half a
// follow, counters move exactly once per real change, and two instances
// racing on the same users cannot both commit: the loser re-reads and
// retries. Within one
// instance, changes that touch the same users are serialised by in-process
// locks so that they do not keep conflicting; changes aimed at the same
// followee are committed together in one transaction (group commit), which
// keeps a popular account's follow bursts from queueing one by one.
//
// Counters are kept in the same transaction as the edge rather than derived
// from the events: they are exact at once, and no consumer has to count
// events. The events are for other services; they are at least once and
// carry the edge's version so that consumers can dedupe and order them.
package relation

import (
	"github.com/douvo/douvo/internal/platform/apierr"
)

// AppID is the Dapr app-id the relation service runs under.
const AppID = "relation"

// Topic is the pub/sub topic of follow events.
const Topic = "relation-events"

// Limits of the internal API.
const (
	// MaxBatch is the most ids one batch lookup accepts.
	MaxBatch = 500
	// DefaultLimit is the page length of a list read when none is asked for.
	DefaultLimit = 100
	// MaxLimit is the longest page of a list read.
	MaxLimit = 500
)

// List names one of a user's three lists.
type List string

// The lists of a user, newest entry first.
const (
	// Following lists the users this user follows.
	Following List = "following"
	// Followers lists the users who follow this user.
	Followers List = "followers"
	// Friends lists the users this user follows and who follow back, in
	// the order they became mutual.
	Friends List = "friends"
)

// Valid reports whether l is one of the three lists.
func (l List) Valid() bool {
	return l == Following || l == Followers || l == Friends
}

// Errors the relation service returns. Their messages are shown to clients.
var (
	ErrBadID         = apierr.New(apierr.Invalid, "user ids must be positive integers")
	ErrSelfFollow    = apierr.New(apierr.Invalid, "you cannot follow or unfollow yourself")
	ErrUserNotFound  = apierr.New(apierr.NotFound, "user not found")
	ErrBadList       = apierr.New(apierr.Invalid, "list must be following, followers or friends")
	ErrBadLimit      = apierr.New(apierr.Invalid, "limit must be between 1 and 500")
	ErrBadCursor     = apierr.New(apierr.Invalid, "cursor is malformed: pass back the next_cursor of a previous page")
	ErrBatchTooLarge = apierr.New(apierr.Invalid, "too many ids in one batch lookup")
	ErrContention    = apierr.New(apierr.Unavailable,
		"too many simultaneous changes to these users: retry shortly")
	ErrBacklog = apierr.New(apierr.Unavailable,
		"follows are paused while follow events catch up: retry shortly")
)

// Outcome is the result of a follow or unfollow.
type Outcome struct {
	// Changed is false when the edge already was as asked (a repeated
	// follow or unfollow), in which case nothing was written or published.
	Changed bool `json:"changed"`
	// Following is whether the follower follows the followee afterwards.
	Following bool `json:"following"`
}

// Relation is what a viewer needs to know about one user: its counters and
// whether the viewer follows it.
type Relation struct {
	ID int64 `json:"id"`
	// FollowCount is the number of users this user follows.
	FollowCount int64 `json:"follow_count"`
	// FollowerCount is the number of users following this user.
	FollowerCount int64 `json:"follower_count"`
	// FriendCount is the number of mutual follows.
	FriendCount int64 `json:"friend_count"`
	// IsFollow is whether the viewer follows this user; always false for an
	// anonymous viewer and for the viewer itself.
	IsFollow bool `json:"is_follow"`
}

// Page is one page of a list.
type Page struct {
	// IDs are user ids, newest entry first.
	IDs []int64 `json:"ids"`
	// Next is the cursor of the following page, or empty at the end.
	Next string `json:"next_cursor,omitempty"`
}

// Event types.
const (
	EventFollow   = "follow"
	EventUnfollow = "unfollow"
)

// Event reports one real change of an edge. Its ID is
// "<type>-<follower>-<followee>-<version>", the same on every delivery; the
// version grows by one with every change of the edge, so a consumer keeping
// the highest version it applied per pair both dedupes and orders events.
type Event struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	FollowerID int64  `json:"follower_id"`
	FolloweeID int64  `json:"followee_id"`
	// Version counts the edge's changes, this one included, so a follow
	// always leaves it odd and an unfollow even.
	Version int64 `json:"version"`
	// Mutual is whether the two users follow each other after the change.
	Mutual bool `json:"mutual"`
	// At is when the change was committed, in Unix milliseconds.
	At int64 `json:"at"`
}
