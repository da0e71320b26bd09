// Package comment is DouVo's comment service: comments on videos, each
// video's list of comments, newest first, and the events that drive the
// videos' comment_count.
//
// A comment is one record. Writing it and deleting it are its two changes,
// versions 1 and 2, each published as an Event on Topic atomically with the
// change through the record's own outbox (see internal/platform/outbox).
// The video service counts them (see internal/platform/tally): a comment
// counts once from its first event on and no longer once deleted, however
// often and in whatever order the events arrive.
//
// Comment ids are small and sequential across every instance of the
// service. Times are kept in Unix milliseconds; the gateway writes a
// comment's date for clients.
package comment

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/douvo/douvo/internal/platform/apierr"
)

// AppID is the Dapr app-id the comment service runs under.
const AppID = "comment"

// Names of the Dapr building blocks the comment service uses.
const (
	// StoreName is the state store holding the comments, the id sequence
	// and the lists. It is scoped to AppID.
	StoreName = "commentstore"
	// Topic carries an Event for every change of a comment, under the id
	// "comment-<id>-<version>".
	Topic = "comment-events"
	// IntentTopic carries the outbox's intents, consumed by this service
	// alone.
	IntentTopic = "comment-intents"
)

// Limits of the service and of the client contract.
const (
	// MaxContentLen is the longest comment, in characters after trimming.
	MaxContentLen = 500
	// ListLimit is the most comments a video's list returns, newest first.
	ListLimit = 200
	// pageSize is how many entries one stored page of a list holds.
	pageSize = 100
	// maxListPages bounds the pages of a list read for one answer beyond its
	// head; deleted comments are removed from the pages as they go.
	maxListPages = 64
)

// Errors the comment service returns. Their messages are shown to clients.
var (
	ErrContentEmpty   = apierr.New(apierr.Invalid, "comment_text must not be empty or only spaces")
	ErrContentTooLong = apierr.New(apierr.Invalid,
		fmt.Sprintf("comment_text must be at most %d characters", MaxContentLen))
	ErrContentInvalid = apierr.New(apierr.Invalid, "comment_text must be UTF-8 text")
	ErrBadUser        = apierr.New(apierr.Invalid, "user id must be a positive integer")
	ErrBadVideo       = apierr.New(apierr.Invalid, "video id must be a positive integer")
	ErrBadComment     = apierr.New(apierr.Invalid, "comment id must be a positive integer")
	ErrVideoNotFound  = apierr.New(apierr.NotFound, "video not found")
	ErrNotFound       = apierr.New(apierr.NotFound, "comment not found on this video")
	ErrForbidden      = apierr.New(apierr.Forbidden,
		"only the comment's author or the video's author may delete a comment")
)

// Comment is a comment as callers see it.
type Comment struct {
	ID      int64  `json:"id"`
	VideoID int64  `json:"video_id"`
	UserID  int64  `json:"user_id"`
	Content string `json:"content"`
	// CreatedAt is when the comment was written, in Unix milliseconds.
	CreatedAt int64 `json:"created_at"`
}

// Event is the event of one change of a comment, published on Topic: the
// comment's state at Version, 1 when it was written and 2 when it was
// deleted.
type Event struct {
	CommentID int64 `json:"comment_id"`
	VideoID   int64 `json:"video_id"`
	UserID    int64 `json:"user_id"`
	Deleted   bool  `json:"deleted"`
	Version   int64 `json:"version"`
	// At is the time of the change in Unix milliseconds.
	At int64 `json:"at"`
}

// EventID is the CloudEvent id of the event: the same for every
// publication of one change.
func (e Event) EventID() string {
	return "comment-" + strconv.FormatInt(e.CommentID, 10) + "-" + strconv.FormatInt(e.Version, 10)
}

// NormalizeContent trims a comment and checks it, returning the text to
// store.
func NormalizeContent(text string) (string, error) {
	if !utf8.ValidString(text) {
		return "", ErrContentInvalid
	}
	t := strings.TrimSpace(text)
	switch n := utf8.RuneCountInString(t); {
	case n == 0:
		return "", ErrContentEmpty
	case n > MaxContentLen:
		return "", ErrContentTooLong
	}
	return t, nil
}
