package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// signingKey reads the token signing key from the mesh's secret store file.
func signingKey(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(mesh.Dir(), ".data/secrets.json"))
	require.NoError(t, err)
	var secrets map[string]string
	require.NoError(t, json.Unmarshal(raw, &secrets))
	return []byte(secrets["token-signing-key"])
}

// signToken makes a token for id with key, expiring after ttl (negative for
// an already expired token).
func signToken(t *testing.T, key []byte, id int64, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	claims := jwt.RegisteredClaims{
		Issuer:    "douvo",
		Subject:   strconv.FormatInt(id, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-time.Hour)),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	require.NoError(t, err)
	return s
}
