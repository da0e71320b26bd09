// Package favorite is DouVo's like service: who liked which video, each
// user's list of liked videos, and the two counters shown on a User that
// likes drive: favorite_count (likes given) and total_favorited (likes
// received on the user's videos).
//
// The service owns one small record per user and video, the truth of
// whether that user likes that video. Every real change of a record (a like
// of a video not liked, an unlike of a liked one) gets the next version of
// that record and is published as a Like event on Topic, atomically with the
// change through the record's own outbox (see internal/platform/outbox):
// no like without its event, no event without its like. Repeated likes and
// unlikes change nothing and publish nothing.
//
// The counters are consumers of those events: the video service counts a
// video's likes, and this service, consuming its own topic, counts each
// user's likes given and received (see internal/platform/tally). Events
// carry the record's whole state at its version, so consumers count states,
// not deltas: a repeated event counts once and a late one is ignored, and
// every counter converges to the number of records that stand liked.
package favorite

import (
	"strconv"

	"github.com/douvo/douvo/internal/platform/apierr"
)

// AppID is the Dapr app-id the like service runs under.
const AppID = "favorite"

// Names of the Dapr building blocks the like service uses.
const (
	// StoreName is the state store holding the like records, the lists and
	// the user counters. It is scoped to AppID.
	StoreName = "favoritestore"
	// Topic carries a Like for every change of a like record, under the id
	// "like-<user>-<video>-<version>".
	Topic = "favorite-events"
	// IntentTopic carries the outbox's intents, consumed by this service
	// alone.
	IntentTopic = "favorite-intents"
)

// Limits of the service.
const (
	// ListLimit is the most videos a user's list of likes returns, most
	// recent like first.
	ListLimit = 200
	// MaxBatch is the most ids one batch lookup accepts.
	MaxBatch = 500
	// pageSize is how many entries one stored page of a list holds.
	pageSize = 100
	// maxListPages bounds the pages of a user's list read for one answer
	// beyond its head; entries of videos unliked since are skipped on the
	// way, and removed from the pages as they are unliked.
	maxListPages = 64
)

// Errors the like service returns. Their messages are shown to clients.
var (
	ErrBadUser       = apierr.New(apierr.Invalid, "user id must be a positive integer")
	ErrBadVideo      = apierr.New(apierr.Invalid, "video id must be a positive integer")
	ErrVideoNotFound = apierr.New(apierr.NotFound, "video not found")
	ErrBatchTooLarge = apierr.New(apierr.Invalid, "too many ids in one batch lookup")
)

// Like is the event of one change of a like record, published on Topic:
// the record's state at Version. Versions of one user and video grow by one
// with every change, starting at 1.
type Like struct {
	UserID   int64 `json:"user_id"`
	VideoID  int64 `json:"video_id"`
	AuthorID int64 `json:"author_id"`
	Liked    bool  `json:"liked"`
	Version  int64 `json:"version"`
	// At is the time of the change in Unix milliseconds.
	At int64 `json:"at"`
}

// EventID is the CloudEvent id of the event: the same for every
// publication of one change.
func (l Like) EventID() string {
	return "like-" + strconv.FormatInt(l.UserID, 10) + "-" + strconv.FormatInt(l.VideoID, 10) +
		"-" + strconv.FormatInt(l.Version, 10)
}

// Counts are the like counters of one user.
type Counts struct {
	UserID int64 `json:"user_id"`
	// FavoriteCount is how many videos the user likes.
	FavoriteCount int64 `json:"favorite_count"`
	// TotalFavorited is how many likes the user's videos have received.
	TotalFavorited int64 `json:"total_favorited"`
}
