package video

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"os/exec"
	"time"
)

// Covers makes cover images: a real frame of the video with ffmpeg when the
// machine has it, or a generated placeholder when it has not.
type Covers struct {
	ffmpeg  string
	timeout time.Duration
	// slots bounds how many ffmpeg processes run at once, so that a burst
	// of uploads cannot starve the machine.
	slots chan struct{}
}

// Placeholder size: the portrait 9:16 of short videos.
const (
	placeholderWidth  = 360
	placeholderHeight = 640
)

// coverMaxWidth bounds the width of a cover taken from a frame.
const coverMaxWidth = 720

// NewCovers returns Covers that run the ffmpeg binary named by ffmpegPath
// (a name looked up in PATH, or a path), at most parallel at a time. When it
// is empty or not found, every cover is a placeholder, and NewCovers says so
// once in the log.
func NewCovers(ffmpegPath string, parallel int, timeout time.Duration, logger *slog.Logger) *Covers {
	c := &Covers{timeout: timeout, slots: make(chan struct{}, max(1, parallel))}
	if ffmpegPath != "" {
		if p, err := exec.LookPath(ffmpegPath); err == nil {
			c.ffmpeg = p
		}
	}
	if c.ffmpeg == "" {
		logger.Warn("ffmpeg not found: covers will be generated placeholders, not frames of the videos",
			slog.String("ffmpeg_path", ffmpegPath))
	} else {
		logger.Info("covers are frames taken by ffmpeg", slog.String("ffmpeg", c.ffmpeg))
	}
	return c
}

// FromFrames reports whether covers are frames of the videos.
func (c *Covers) FromFrames() bool { return c.ffmpeg != "" }

// Cover returns a JPEG cover for the video file at path. With ffmpeg it is
// a frame one second in (or the first frame of a shorter clip), and a file
// ffmpeg cannot decode is ErrUndecodable; without ffmpeg it is a
// placeholder whose colours derive from seed.
func (c *Covers) Cover(ctx context.Context, path, seed string) ([]byte, error) {
	if c.ffmpeg == "" {
		return Placeholder(seed)
	}
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return nil, fmt.Errorf("wait to take cover frame: %w", ctx.Err())
	}
	for _, at := range []string{"1", "0"} {
		img, err := c.frame(ctx, path, at)
		if err != nil {
			return nil, err
		}
		if img != nil {
			return img, nil
		}
	}
	return nil, ErrUndecodable
}

// frame runs ffmpeg for one frame at the given second. It returns nil
// without error when ffmpeg produced no frame there.
func (c *Covers) frame(ctx context.Context, path, at string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
		"-threads", "1", "-ss", at, "-i", path, "-frames:v", "1",
		"-vf", fmt.Sprintf("scale='min(%d,iw)':-2", coverMaxWidth),
		"-f", "image2", "-c:v", "mjpeg", "-q:v", "4", "pipe:1")
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("take cover frame: %w", ctx.Err())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("run ffmpeg: %w", err)
	}
	if err != nil || out.Len() == 0 {
		return nil, nil
	}
	if _, err := jpeg.DecodeConfig(bytes.NewReader(out.Bytes())); err != nil {
		return nil, nil
	}
	return out.Bytes(), nil
}

// Placeholder returns a generated portrait JPEG cover: a diagonal gradient
// in two colours derived from seed, with a play mark in the middle.
func Placeholder(seed string) ([]byte, error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(seed)) // a hash never fails to write
	sum := h.Sum32()
	from := hueColor(float64(sum%360), 0.55, 0.35)
	to := hueColor(float64((sum/360+120)%360), 0.65, 0.75)

	img := image.NewRGBA(image.Rect(0, 0, placeholderWidth, placeholderHeight))
	cx, cy := placeholderWidth/2, placeholderHeight/2
	for y := range placeholderHeight {
		for x := range placeholderWidth {
			t := float64(x+y) / float64(placeholderWidth+placeholderHeight)
			px := mix(from, to, t)
			if inPlayMark(x-cx, y-cy) {
				px = color.RGBA{R: 255, G: 255, B: 255, A: 255}
			}
			img.SetRGBA(x, y, px)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		return nil, fmt.Errorf("encode placeholder cover: %w", err)
	}
	return buf.Bytes(), nil
}

// inPlayMark reports whether the point (dx, dy) from the centre lies in a
// right-pointing triangle 60 pixels wide.
func inPlayMark(dx, dy int) bool {
	const half = 30
	if dx < -half || dx > half {
		return false
	}
	reach := (half - dx) / 2
	return dy >= -reach && dy <= reach
}

func mix(a, b color.RGBA, t float64) color.RGBA {
	l := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t) }
	return color.RGBA{R: l(a.R, b.R), G: l(a.G, b.G), B: l(a.B, b.B), A: 255}
}

// hueColor converts a hue in degrees with saturation and lightness in [0,1]
// to RGB.
func hueColor(hue, sat, light float64) color.RGBA {
	chroma := (1 - abs(2*light-1)) * sat
	hp := hue / 60
	x := chroma * (1 - abs(mod2(hp)-1))
	var r, g, b float64
	switch {
	case hp < 1:
		r, g = chroma, x
	case hp < 2:
		r, g = x, chroma
	case hp < 3:
		g, b = chroma, x
	case hp < 4:
		g, b = x, chroma
	case hp < 5:
		r, b = x, chroma
	default:
		r, b = chroma, x
	}
	m := light - chroma/2
	to8 := func(v float64) uint8 { return uint8((v + m) * 255) }
	return color.RGBA{R: to8(r), G: to8(g), B: to8(b), A: 255}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func mod2(v float64) float64 {
	for v >= 2 {
		v -= 2
	}
	return v
}
