// Package user is DouVo's user service: accounts (register, login) and
// profiles. It owns the only copy of usernames and password hashes; other
// services and the gateway resolve users through its batch lookup. The
// counters shown on a client's User object belong to the services that own
// the underlying facts (follows, videos, likes), and the gateway adds them.
package user

import (
	"strings"
	"unicode/utf8"

	"github.com/douvo/douvo/internal/platform/apierr"
)

// AppID is the Dapr app-id the user service runs under.
const AppID = "user"

// Limits from the client contract.
const (
	// MaxNameLen is the longest username, in characters.
	MaxNameLen = 32
	// MaxPasswordLen is the longest password, in characters.
	MaxPasswordLen = 32
	// MaxBatch is the most ids one batch lookup accepts.
	MaxBatch = 500
)

// Errors the user service returns. Their messages are shown to clients.
var (
	ErrNameInvalid = apierr.New(apierr.Invalid,
		"username must be 1 to 32 characters, without leading or trailing spaces")
	ErrPasswordInvalid = apierr.New(apierr.Invalid, "password must be 1 to 32 characters")
	ErrNameTaken       = apierr.New(apierr.Conflict, "username is already taken")
	ErrBadCredentials  = apierr.New(apierr.Forbidden, "wrong username or password")
	ErrNotFound        = apierr.New(apierr.NotFound, "user not found")
	ErrBatchTooLarge   = apierr.New(apierr.Invalid, "too many ids in one batch lookup")
)

// User is the public profile of an account.
type User struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	Avatar          string `json:"avatar"`
	BackgroundImage string `json:"background_image"`
	Signature       string `json:"signature"`
}

// validName reports whether name is an acceptable username.
func validName(name string) bool {
	n := utf8.RuneCountInString(name)
	return n >= 1 && n <= MaxNameLen && utf8.ValidString(name) && strings.TrimSpace(name) == name
}

// validPassword reports whether password is acceptable.
func validPassword(password string) bool {
	n := utf8.RuneCountInString(password)
	return n >= 1 && n <= MaxPasswordLen && utf8.ValidString(password)
}
