// Package video is DouVo's video service: uploads, the feed, each author's
// list of works and the delivery of video and cover files.
//
// A video's files live in blob storage behind a Dapr output binding, cut
// into fixed-size chunks so that neither an upload nor a ranged read ever
// holds a whole file in memory; its record, the feed index and the per-author
// lists live in the service's Dapr state store. Video ids are small,
// sequential and dense, and their publish times are unique and increase with
// them, so the feed is a walk down the id sequence and a page costs a fixed
// number of store reads whatever the size of the catalogue (see DaprStore).
//
// The service owns work_count per author and favorite_count and
// comment_count per video. The latter two count the events of the services
// that own likes and comments (LikeTopic, CommentTopic): each event reports
// the state of one like or comment at a version, and the counters take
// every version in once, whatever the order and the number of deliveries
// (see internal/platform/tally).
package video

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/douvo/douvo/internal/platform/apierr"
)

// AppID is the Dapr app-id the video service runs under.
const AppID = "video"

// Topics the video service consumes, published by the services that own
// likes and comments.
const (
	// LikeTopic carries a LikeEvent for every change of a user's like of a
	// video.
	LikeTopic = "favorite-events"
	// CommentTopic carries a CommentEvent for every change of a comment.
	CommentTopic = "comment-events"
)

// LikeEvent is what the video service reads of a like event: whether the
// user likes the video at that version of their like. Versions of one user
// and video start at 1 and grow by one with every change.
type LikeEvent struct {
	UserID  int64 `json:"user_id"`
	VideoID int64 `json:"video_id"`
	Liked   bool  `json:"liked"`
	Version int64 `json:"version"`
}

// CommentEvent is what the video service reads of a comment event: whether
// the comment is deleted at that version (1 when written, 2 when deleted).
type CommentEvent struct {
	CommentID int64 `json:"comment_id"`
	VideoID   int64 `json:"video_id"`
	Deleted   bool  `json:"deleted"`
	Version   int64 `json:"version"`
}

// Limits of the service and of the client contract.
const (
	// MaxTitleLen is the longest title, in characters after trimming.
	MaxTitleLen = 100
	// FeedPage is the most videos one feed page returns.
	FeedPage = 30
	// MaxBatch is the most ids one batch lookup accepts.
	MaxBatch = 500
	// ListLimit is the most videos an author's publish list returns, newest
	// first.
	ListLimit = 200
	// DefaultMaxUpload is the default largest video file, in bytes.
	DefaultMaxUpload = 100 << 20
)

// Errors the video service returns. Their messages are shown to clients.
var (
	ErrTitleInvalid = apierr.New(apierr.Invalid,
		fmt.Sprintf("title must be 1 to %d characters, not counting leading and trailing spaces",
			MaxTitleLen))
	ErrNoFile    = apierr.New(apierr.Invalid, "data is required: attach the video file as the data field")
	ErrEmptyFile = apierr.New(apierr.Invalid, "the video file is empty")
	ErrNotVideo  = apierr.New(apierr.Invalid,
		"the file is not a supported video: upload an MP4, MOV or WebM file")
	ErrUndecodable = apierr.New(apierr.Invalid,
		"the video could not be decoded: the file is damaged or uses an unsupported codec")
	ErrCutOff        = apierr.New(apierr.Invalid, "the upload ended before the whole file arrived")
	ErrAuthorInvalid = apierr.New(apierr.Invalid, "author id must be a positive integer")
	ErrNotFound      = apierr.New(apierr.NotFound, "video not found")
	ErrBatchTooLarge = apierr.New(apierr.Invalid, "too many ids in one batch lookup")
	ErrBadTime       = apierr.New(apierr.Invalid, "time must be a Unix time in milliseconds, not negative")
)

// TooLarge is the error for a video file over limit bytes.
func TooLarge(limit int64) *apierr.Error {
	return apierr.New(apierr.TooLarge,
		fmt.Sprintf("the video file is larger than the limit of %s", humanBytes(limit)))
}

func humanBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Video is a published video as other services and the gateway see it.
type Video struct {
	ID       int64  `json:"id"`
	AuthorID int64  `json:"author_id"`
	Title    string `json:"title"`
	// CreatedAt is the publish time in Unix milliseconds. Publish times are
	// unique and grow with the id.
	CreatedAt int64 `json:"created_at"`
	// PlayPath and CoverPath are the media paths under the public base URL,
	// such as /media/videos/7.mp4 and /media/covers/7.jpg.
	PlayPath  string `json:"play_path"`
	CoverPath string `json:"cover_path"`
	// FavoriteCount and CommentCount are the likes and comments the video
	// has received.
	FavoriteCount int64 `json:"favorite_count"`
	CommentCount  int64 `json:"comment_count"`
}

// NormalizeTitle trims title and checks its length, returning the title to
// store or ErrTitleInvalid.
func NormalizeTitle(title string) (string, error) {
	t := strings.TrimSpace(title)
	n := utf8.RuneCountInString(t)
	if n < 1 || n > MaxTitleLen || !utf8.ValidString(t) {
		return "", ErrTitleInvalid
	}
	return t, nil
}
