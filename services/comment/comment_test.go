package comment

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalizeContent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
		err            error
	}{
		{name: "plain", in: "nice clip", want: "nice clip"},
		{name: "trimmed", in: " \t nice \n", want: "nice"},
		{name: "inner spaces kept", in: "a  b", want: "a  b"},
		{name: "500 characters", in: strings.Repeat("好", 500), want: strings.Repeat("好", 500)},
		{name: "500 after trimming", in: " " + strings.Repeat("x", 500) + " ", want: strings.Repeat("x", 500)},
		{name: "empty", in: "", err: ErrContentEmpty},
		{name: "only spaces", in: " \n\t ", err: ErrContentEmpty},
		{name: "501 characters", in: strings.Repeat("好", 501), err: ErrContentTooLong},
		{name: "not UTF-8", in: "bad \xff byte", err: ErrContentInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeContent(tc.in)
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, tc.want, got)
		})
	}
}
