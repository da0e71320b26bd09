package user

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPasswordHashes(t *testing.T) {
	t.Parallel()
	hash, err := hashPassword("correct horse")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"), hash)

	again, err := hashPassword("correct horse")
	require.NoError(t, err)
	assert.NotEqual(t, hash, again, "every hash has its own salt")

	good, err := checkPassword("correct horse", hash)
	require.NoError(t, err)
	assert.True(t, good)
	bad, err := checkPassword("correct horsE", hash)
	require.NoError(t, err)
	assert.False(t, bad)
}

func TestCheckPasswordRefusesMalformedHashes(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"", "plain", "$bcrypt$x$y$z$w", "$argon2id$v=18$m=1,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=x,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=8,t=1,p=1$!!$aGFzaA"} {
		_, err := checkPassword("pw", h)
		assert.ErrorIs(t, err, errMalformedHash, h)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	names := map[string]bool{
		"ada": true, strings.Repeat("n", 32): true, strings.Repeat("名", 32): true,
		"": false, strings.Repeat("n", 33): false, " ada": false, "ada ": false, "\xff": false,
	}
	for name, want := range names {
		assert.Equal(t, want, validName(name), "%q", name)
	}
	passwords := map[string]bool{
		"p": true, strings.Repeat("p", 32): true, "with space ": true,
		"": false, strings.Repeat("p", 33): false,
	}
	for pw, want := range passwords {
		assert.Equal(t, want, validPassword(pw), "%q", pw)
	}
}
