package gateway

import (
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/stretchr/testify/require"
)

func TestCommentDatesAreWrittenInTheGatewaysZone(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	// 2024-02-29 20:30 UTC is already March 1st in Shanghai.
	ms := time.Date(2024, 2, 29, 20, 30, 0, 0, time.UTC).UnixMilli()
	cases := []struct {
		name string
		zone *time.Location
		want string
	}{
		{"default UTC", nil, "02-29"},
		{"configured zone", shanghai, "03-01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := New(Services{}, nil, Limits{}, Media{}, tc.zone)
			require.Equal(t, tc.want, g.date(ms))
		})
	}
}
