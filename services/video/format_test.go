package video

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/douvo/douvo/internal/clips"
)

func TestSniff(t *testing.T) {
	t.Parallel()
	ftyp := func(brand string, compat ...string) []byte {
		b := []byte{0, 0, 0, byte(16 + 4*len(compat)), 'f', 't', 'y', 'p'}
		b = append(b, brand...)
		b = append(b, 0, 0, 2, 0)
		for _, c := range compat {
			b = append(b, c...)
		}
		return b
	}
	cases := []struct {
		name string
		head []byte
		want Format
		ok   bool
	}{
		{"mp4 clip", clips.MP4, MP4, true},
		{"mov clip", clips.MOV, MOV, true},
		{"webm clip", clips.WebM, WebM, true},
		{"mp4 by compatible brand", ftyp("xxxx", "abcd", "mp42"), MP4, true},
		{"quicktime without ftyp", append([]byte{0, 0, 0, 8}, "wide\x00\x00\x00\x08moov"...), MOV, true},
		{"heic image", ftyp("heic", "mif1", "heic"), "", false},
		{"avif image", ftyp("avif", "avif", "mif1"), "", false},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "", false},
		{"matroska, not webm", []byte("\x1aE\xdf\xa3\x9fB\x86\x81\x01B\x82\x88matroska"), "", false},
		{"text", []byte("hello, this is not a video at all"), "", false},
		{"too short", []byte{0, 0, 0}, "", false},
		{"empty", nil, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Sniff(c.head)
			assert.Equal(t, c.ok, ok)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestNormalizeTitle(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"  hello  ", "hello", true},
		{string(make([]rune, 0)), "", false},
		{"   ", "", false},
		{"\t\n", "", false},
		{"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十" +
			"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十",
			"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十" +
				"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十", true},
		{"x" + string(make([]byte, 100)), "", false},
		{"bad \xff utf-8", "", false},
	}
	for _, c := range cases {
		got, err := NormalizeTitle(c.in)
		if c.ok {
			assert.NoError(t, err, "%q", c.in)
			assert.Equal(t, c.want, got)
		} else {
			assert.ErrorIs(t, err, ErrTitleInvalid, "%q", c.in)
		}
	}
}
