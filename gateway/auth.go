package gateway

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/douvo/douvo/internal/platform/apierr"
)

// MinSigningKeyLen is the shortest accepted token signing key, in bytes.
const MinSigningKeyLen = 32

const issuer = "douvo"

// viewerLocal is the Fiber local holding the authenticated user's id.
const viewerLocal = "douvo.viewer"

var (
	errNoToken      = apierr.New(apierr.Unauthenticated, "token is required: sign in first")
	errBadToken     = apierr.New(apierr.Unauthenticated, "token is invalid: sign in again")
	errExpiredToken = apierr.New(apierr.Unauthenticated, "token has expired: sign in again")
)

// Tokens issues and verifies the signed tokens (JWT, HMAC-SHA256) that
// identify a signed-in user.
type Tokens struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewTokens returns Tokens signing with key, valid for ttl.
func NewTokens(key []byte, ttl time.Duration) (*Tokens, error) {
	if len(key) < MinSigningKeyLen {
		return nil, fmt.Errorf("token signing key has %d bytes, want at least %d", len(key), MinSigningKeyLen)
	}
	return &Tokens{key: key, ttl: ttl, now: time.Now}, nil
}

// Issue returns a token for user id.
func (t *Tokens) Issue(id int64) (string, error) {
	now := t.now()
	claims := jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   strconv.FormatInt(id, 10),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify returns the user id a token was issued for.
func (t *Tokens) Verify(token string) (int64, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return 0, errExpiredToken
	case err != nil:
		return 0, errBadToken
	}
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadToken
	}
	return id, nil
}

// tokenOf finds the token in the token parameter or an Authorization: Bearer
// header.
func tokenOf(c *fiber.Ctx) string {
	if t := param(c, "token"); t != "" {
		return t
	}
	h := c.Get(fiber.HeaderAuthorization)
	if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return ""
}

// authenticate verifies the request's token, if any, and records the
// viewer. With required set a request without a token is refused; a token
// that is present but invalid is always refused.
func (t *Tokens) authenticate(required bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tok := tokenOf(c)
		if tok == "" {
			if required {
				return errNoToken
			}
			return c.Next()
		}
		id, err := t.Verify(tok)
		if err != nil {
			return err
		}
		c.Locals(viewerLocal, id)
		return c.Next()
	}
}

// viewer returns the signed-in user's id, or 0 for an anonymous request.
func viewer(c *fiber.Ctx) int64 {
	id, _ := c.Locals(viewerLocal).(int64)
	return id
}
