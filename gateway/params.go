package gateway

import (
	"math"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/douvo/douvo/internal/platform/apierr"
)

// maxSafeInt is 2^53, the bound below which every integer survives a round
// trip through a float64, as some clients decode JSON numbers.
const maxSafeInt = 1 << 53

// secondsBelow separates Unix seconds from Unix milliseconds: a time below it
// is in seconds (10^11 s is the year 5138; 10^11 ms is 1973).
const secondsBelow = 100_000_000_000

// param reads a parameter from the query string, an urlencoded body or a
// multipart body, whatever the method, as the client contract requires.
func param(c *fiber.Ctx, name string) string {
	if v := c.Query(name); v != "" {
		return v
	}
	return c.FormValue(name)
}

// requireParam is param for a parameter that must be present and non-empty.
func requireParam(c *fiber.Ctx, name string) (string, error) {
	v := param(c, name)
	if v == "" {
		return "", apierr.New(apierr.Invalid, name+" is required")
	}
	return v, nil
}

// parseID parses an id parameter. Ids are positive integers below 2^53,
// written plainly or in float notation (1.234567e+06) by clients that decode
// JSON numbers as floats.
func parseID(name, raw string) (int64, error) {
	raw = strings.TrimSpace(raw)
	if id, err := strconv.ParseInt(raw, 10, 64); err == nil {
		if id <= 0 || id >= maxSafeInt {
			return 0, apierr.New(apierr.Invalid, name+" is out of range")
		}
		return id, nil
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, apierr.New(apierr.Invalid, name+" must be an integer")
	}
	if f != math.Trunc(f) {
		return 0, apierr.New(apierr.Invalid, name+" must be a whole number")
	}
	if f <= 0 || f >= maxSafeInt {
		return 0, apierr.New(apierr.Invalid, name+" is out of range")
	}
	return int64(f), nil
}

// idParam reads and parses a required id parameter.
func idParam(c *fiber.Ctx, name string) (int64, error) {
	raw, err := requireParam(c, name)
	if err != nil {
		return 0, err
	}
	return parseID(name, raw)
}

// millisParam reads an optional time parameter as Unix milliseconds. Absent
// gives def; values clearly in seconds are converted to milliseconds;
// negative, non-numeric or non-integral values are refused.
func millisParam(c *fiber.Ctx, name string, def int64) (int64, error) {
	raw := strings.TrimSpace(param(c, name))
	if raw == "" {
		return def, nil
	}
	ms, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(raw, 64)
		if ferr != nil || f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) >= maxSafeInt {
			return 0, apierr.New(apierr.Invalid, name+" must be a Unix time in milliseconds")
		}
		ms = int64(f)
	}
	switch {
	case ms < 0:
		return 0, apierr.New(apierr.Invalid, name+" must not be negative")
	case ms > 0 && ms < secondsBelow:
		ms *= 1000
	}
	return ms, nil
}
