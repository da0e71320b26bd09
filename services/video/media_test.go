package video

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestByteRange(t *testing.T) {
	t.Parallel()
	const size = 1000
	cases := []struct {
		header         string
		first, last    int64
		partial, valid bool
	}{
		{"", 0, 999, false, true},
		{"bytes=0-0", 0, 0, true, true},
		{"bytes=10-19", 10, 19, true, true},
		{"bytes=990-", 990, 999, true, true},
		{"bytes=990-5000", 990, 999, true, true},
		{"bytes=-10", 990, 999, true, true},
		{"bytes=-5000", 0, 999, true, true},
		{"bytes=1000-", 0, 0, false, false},
		{"bytes=-0", 0, 0, false, false},
		{"bytes=0-1,5-6", 0, 999, false, true},
		{"bytes=20-10", 0, 999, false, true},
		{"bytes=x-", 0, 999, false, true},
		{"items=0-1", 0, 999, false, true},
	}
	for _, c := range cases {
		first, last, partial, ok := ByteRange(c.header, size)
		assert.Equal(t, c.valid, ok, c.header)
		if ok {
			assert.Equal(t, []int64{c.first, c.last}, []int64{first, last}, c.header)
			assert.Equal(t, c.partial, partial, c.header)
		}
	}
}

func TestETagMatches(t *testing.T) {
	t.Parallel()
	assert.True(t, ETagMatches(`"a", "b"`, `"b"`))
	assert.True(t, ETagMatches(`W/"b"`, `"b"`))
	assert.True(t, ETagMatches(`*`, `"b"`))
	assert.False(t, ETagMatches(`"a"`, `"b"`))
	assert.False(t, ETagMatches(``, `"b"`))
}
