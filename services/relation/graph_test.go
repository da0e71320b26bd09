package relation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCursor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		want    cursor
		resumed bool
		bad     bool
	}{
		{name: "empty is the start", raw: ""},
		{name: "page and entry", raw: "3.250", want: cursor{page: 3, seq: 250}, resumed: true},
		{name: "round trip", raw: cursor{page: 12, seq: 9}.String(), want: cursor{page: 12, seq: 9}, resumed: true},
		{name: "no dot", raw: "3", bad: true},
		{name: "zero page", raw: "0.5", bad: true},
		{name: "negative entry", raw: "1.-5", bad: true},
		{name: "words", raw: "next.page", bad: true},
		{name: "extra part", raw: "1.2.3", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resumed, err := parseCursor(tt.raw)
			if tt.bad {
				require.ErrorIs(t, err, ErrBadCursor)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c)
			assert.Equal(t, tt.resumed, resumed)
		})
	}
}
