// Package apierr is DouVo's single error vocabulary. Business packages
// declare sentinel errors with a Kind and a client-facing message; the web
// layer maps the Kind to the client's status_code and to an HTTP status in
// one place, and services decode the same envelope when they call each other.
//
// Only the message of an *Error ever reaches a client. Any other error is an
// internal fault and is reported as "internal error" so that internals never
// leak.
package apierr

import (
	"errors"
	"net/http"
)

// Kind classifies an error by what the caller can do about it.
type Kind int32

// The kinds. Their numeric values are the status_code clients see, chosen to
// read like the HTTP status each one maps to inside the mesh.
const (
	// Internal is a fault of the system; the caller may retry later.
	Internal Kind = 500
	// Invalid means the request is malformed: a missing, empty, over-long or
	// unparsable parameter.
	Invalid Kind = 400
	// Unauthenticated means the token is missing, malformed, tampered with or
	// expired, or the credentials are wrong.
	Unauthenticated Kind = 401
	// Forbidden means the caller is known but may not do this.
	Forbidden Kind = 403
	// NotFound means a referenced user, video, comment or message is unknown.
	NotFound Kind = 404
	// Conflict means the request clashes with existing state, such as a taken
	// username.
	Conflict Kind = 409
	// TooLarge means an upload or body exceeds the configured limit.
	TooLarge Kind = 413
	// TooManyRequests means a rate limit was hit; the caller should slow down.
	TooManyRequests Kind = 429
	// Unavailable means a dependency is down or timed out; the caller may retry.
	Unavailable Kind = 503
)

// HTTPStatus is the HTTP status that carries an error of this kind between
// services. A refusal caused by the request (invalid, unknown, taken,
// forbidden) is an answer, not a failure of the service: it travels as
// HTTP 200 with its status_code, so that sidecars' retries and circuit
// breakers count only faults (500) and unavailability (503). Use
// PublicHTTPStatus for responses to clients.
func (k Kind) HTTPStatus() int {
	switch k {
	case Invalid, Unauthenticated, Forbidden, NotFound, Conflict, TooLarge, TooManyRequests:
		return http.StatusOK
	case Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// PublicHTTPStatus is the HTTP status the client contract asks for: business
// refusals (not found, conflict, forbidden) travel as HTTP 200 with a non-zero
// status_code, while malformed requests, authentication failures, overload
// and faults keep their own status.
func (k Kind) PublicHTTPStatus() int {
	switch k {
	case Forbidden, NotFound, Conflict:
		return http.StatusOK
	case Invalid, Unauthenticated, TooLarge, TooManyRequests, Unavailable:
		return int(k)
	default:
		return http.StatusInternalServerError
	}
}

// Error is an error a client may see: a kind and a human-readable message
// written for client developers.
type Error struct {
	Kind Kind
	Msg  string
}

// New returns an *Error of the given kind with a client-facing message.
func New(kind Kind, msg string) *Error {
	return &Error{Kind: kind, Msg: msg}
}

// Error returns the client-facing message.
func (e *Error) Error() string { return e.Msg }

// Is reports whether target is an *Error with the same kind and message, so
// that errors decoded from another service match the sentinels they were
// made from.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Kind == e.Kind && t.Msg == e.Msg
}

// From returns the *Error in err's chain, or an Internal error with a generic
// message when err carries none.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Msg: "internal error"}
}

// KindOf returns the kind of err: the kind of the *Error in its chain, or
// Internal.
func KindOf(err error) Kind {
	return From(err).Kind
}

// FromStatus rebuilds an error decoded from another service's envelope. An
// unknown status code becomes Internal with the message kept.
func FromStatus(code int32, msg string) *Error {
	kind := Kind(code)
	switch kind {
	case Invalid, Unauthenticated, Forbidden, NotFound, Conflict, TooLarge, TooManyRequests,
		Unavailable:
	default:
		kind = Internal
	}
	if msg == "" {
		msg = "internal error"
	}
	return &Error{Kind: kind, Msg: msg}
}
