package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStatuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kind             Kind
		internal, public int
	}{
		{Invalid, 200, 400},
		{Unauthenticated, 200, 401},
		{Forbidden, 200, 200},
		{NotFound, 200, 200},
		{Conflict, 200, 200},
		{TooLarge, 200, 413},
		{TooManyRequests, 200, 429},
		{Unavailable, 503, 503},
		{Internal, 500, 500},
		{Kind(7), 500, 500},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.internal, tc.kind.HTTPStatus(), "kind %d", tc.kind)
		assert.Equal(t, tc.public, tc.kind.PublicHTTPStatus(), "kind %d", tc.kind)
	}
}

func TestFromKeepsOnlyClientMessages(t *testing.T) {
	t.Parallel()
	sentinel := New(NotFound, "video not found")
	wrapped := fmt.Errorf("load feed: %w", sentinel)
	assert.Equal(t, sentinel, From(wrapped))
	assert.Equal(t, NotFound, KindOf(wrapped))

	internal := From(errors.New("connection refused to 10.0.0.1"))
	assert.Equal(t, Internal, internal.Kind)
	assert.Equal(t, "internal error", internal.Msg)
}

func TestDecodedErrorsMatchTheirSentinels(t *testing.T) {
	t.Parallel()
	sentinel := New(Conflict, "username is already taken")
	decoded := FromStatus(int32(Conflict), "username is already taken")
	assert.ErrorIs(t, fmt.Errorf("register: %w", decoded), sentinel)
	assert.NotErrorIs(t, FromStatus(int32(Conflict), "other"), sentinel)

	unknown := FromStatus(777, "")
	assert.Equal(t, Internal, unknown.Kind)
	assert.Equal(t, "internal error", unknown.Msg)
	assert.Equal(t, http.StatusServiceUnavailable, FromStatus(503, "x").Kind.HTTPStatus())
}
