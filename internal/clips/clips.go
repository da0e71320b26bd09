// Package clips holds tiny real video files, made by generate.sh with
// ffmpeg's test source, for tests, benchmarks and the demo seed, so that
// none of them needs ffmpeg to have a video to upload.
package clips

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"io"
)

// The clips: two seconds of ffmpeg's test pattern, 320x240, about 6 KiB
// each.
var (
	//go:embed testsrc.mp4
	MP4 []byte
	//go:embed testsrc.mov
	MOV []byte
	//go:embed testsrc.webm
	WebM []byte
)

// Width and Height are the clips' frame size.
const (
	Width  = 320
	Height = 240
)

// maxFreeBox bounds one padding box; its size field has 32 bits.
const maxFreeBox = 64 << 20

// Padded returns an MP4 or MOV clip grown to size bytes with "free" boxes
// appended at the top level, which players and ffmpeg skip: a valid video
// of any size, streamed without being built in memory. size must be at
// least len(clip)+8.
func Padded(clip []byte, size int64) io.Reader {
	readers := []io.Reader{bytes.NewReader(clip)}
	left := size - int64(len(clip))
	for left > 0 {
		n := min(left, maxFreeBox)
		if left-n > 0 && left-n < 8 {
			n -= 8
		}
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[:4], uint32(n))
		copy(hdr[4:], "free")
		readers = append(readers, bytes.NewReader(hdr[:]),
			io.LimitReader(zeros{}, n-8))
		left -= n
	}
	return io.MultiReader(readers...)
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

// Read implements io.Reader.
func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
