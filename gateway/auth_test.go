package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testKey() []byte { return []byte(strings.Repeat("s", MinSigningKeyLen)) }

func TestTokensRoundTrip(t *testing.T) {
	t.Parallel()
	tokens, err := NewTokens(testKey(), time.Hour)
	require.NoError(t, err)
	tok, err := tokens.Issue(17)
	require.NoError(t, err)
	id, err := tokens.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, int64(17), id)
}

func TestTokensRefuse(t *testing.T) {
	t.Parallel()
	tokens, err := NewTokens(testKey(), time.Hour)
	require.NoError(t, err)
	valid, err := tokens.Issue(5)
	require.NoError(t, err)

	past, err := NewTokens(testKey(), time.Hour)
	require.NoError(t, err)
	past.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	expired, err := past.Issue(5)
	require.NoError(t, err)

	other, err := NewTokens([]byte(strings.Repeat("o", MinSigningKeyLen)), time.Hour)
	require.NoError(t, err)
	foreign, err := other.Issue(6)
	require.NoError(t, err)

	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{
		Issuer: issuer, Subject: "5", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	})
	unsigned, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)

	cases := map[string]struct {
		token string
		want  error
	}{
		"expired":          {expired, errExpiredToken},
		"foreign key":      {foreign, errBadToken},
		"alg none":         {unsigned, errBadToken},
		"garbage":          {"x.y.z", errBadToken},
		"truncated":        {valid[:len(valid)-4], errBadToken},
		"payload swapped":  {swapPayload(t, valid, foreign), errBadToken},
		"empty":            {"", errBadToken},
		"no subject claim": {noSubject(t, tokens), errBadToken},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := tokens.Verify(tc.token)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

func TestNewTokensRefusesShortKeys(t *testing.T) {
	t.Parallel()
	_, err := NewTokens([]byte("short"), time.Hour)
	assert.Error(t, err)
}

func swapPayload(t *testing.T, a, b string) string {
	t.Helper()
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	return pa[0] + "." + pb[1] + "." + pa[2]
}

func noSubject(t *testing.T, tokens *Tokens) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer: issuer, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString(tokens.key)
	require.NoError(t, err)
	return s
}
