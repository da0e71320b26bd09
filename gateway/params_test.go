package gateway

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/douvo/douvo/internal/platform/apierr"
)

func TestParseID(t *testing.T) {
	t.Parallel()
	cases := []struct {
		raw  string
		want int64
		err  string
	}{
		{raw: "42", want: 42},
		{raw: " 42 ", want: 42},
		{raw: "1.234567e+06", want: 1234567},
		{raw: "7.0", want: 7},
		{raw: "9007199254740991", want: 9007199254740991},
		{raw: "9007199254740992", err: "out of range"},
		{raw: "0", err: "out of range"},
		{raw: "-1", err: "out of range"},
		{raw: "-1e3", err: "out of range"},
		{raw: "1.5", err: "whole number"},
		{raw: "abc", err: "must be an integer"},
		{raw: "Inf", err: "must be an integer"},
		{raw: "NaN", err: "must be an integer"},
		{raw: "", err: "must be an integer"},
	}
	for _, tc := range cases {
		t.Run(tc.raw, func(t *testing.T) {
			t.Parallel()
			got, err := parseID("video_id", tc.raw)
			if tc.err != "" {
				require.Error(t, err)
				assert.Equal(t, apierr.Invalid, apierr.KindOf(err))
				assert.Contains(t, err.Error(), "video_id")
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestMillisParam(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, query string
		want        int64
		err         string
	}{
		{name: "absent gives the default", query: "", want: 99},
		{name: "milliseconds", query: "latest_time=1700000000123", want: 1700000000123},
		{name: "seconds are converted", query: "latest_time=1700000000", want: 1700000000000},
		{name: "float notation", query: "latest_time=1.7e12", want: 1700000000000},
		{name: "zero", query: "latest_time=0", want: 0},
		{name: "negative", query: "latest_time=-5", err: "must not be negative"},
		{name: "not a number", query: "latest_time=yesterday", err: "Unix time"},
		{name: "fraction", query: "latest_time=1.5", err: "Unix time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := fiber.New()
			var got int64
			app.Get("/", func(c *fiber.Ctx) error {
				v, err := millisParam(c, "latest_time", 99)
				if err != nil {
					return c.SendString("error: " + err.Error())
				}
				got = v
				return c.SendString("ok")
			})
			resp, err := app.Test(httptest.NewRequest(fiber.MethodGet, "/?"+tc.query, nil))
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			if tc.err != "" {
				assert.Contains(t, string(body), tc.err)
				return
			}
			assert.Equal(t, "ok", string(body))
			assert.Equal(t, tc.want, got)
		})
	}
}
