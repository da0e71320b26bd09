package video

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/douvo/douvo/internal/clips"
)

func TestCoversWithoutFFmpegArePlaceholdersAndSaySoOnce(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	covers := NewCovers(filepath.Join(t.TempDir(), "no-ffmpeg-here"), 1, time.Second,
		slog.New(slog.NewJSONHandler(&log, nil)))
	require.False(t, covers.FromFrames())
	require.Equal(t, 1, strings.Count(log.String(), "ffmpeg not found"))

	for _, seed := range []string{"one", "two"} {
		img, err := covers.Cover(context.Background(), "/nonexistent", seed)
		require.NoError(t, err)
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(img))
		require.NoError(t, err, "the placeholder is a real JPEG")
		assert.Equal(t, placeholderWidth, cfg.Width)
		assert.Equal(t, placeholderHeight, cfg.Height)
	}
	assert.Equal(t, 1, strings.Count(log.String(), "ffmpeg not found"), "said once, at start")

	a, err := Placeholder("one")
	require.NoError(t, err)
	b, err := Placeholder("two")
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "the colours follow the seed")
}

// TestCoversWithFFmpegAreFrames needs ffmpeg on the machine (Debian package
// ffmpeg), as the video service does to take real frames.
func TestCoversWithFFmpegAreFrames(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is required: apt-get install ffmpeg")
	}
	covers := NewCovers("ffmpeg", 2, 30*time.Second, slog.New(slog.DiscardHandler))
	require.True(t, covers.FromFrames())
	dir := t.TempDir()
	for name, clip := range map[string][]byte{"mp4": clips.MP4, "mov": clips.MOV, "webm": clips.WebM} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, clip, 0o600))
		img, err := covers.Cover(context.Background(), path, "seed")
		require.NoError(t, err, name)
		decoded, format, err := image.Decode(bytes.NewReader(img))
		require.NoError(t, err, name)
		assert.Equal(t, "jpeg", format)
		assert.Equal(t, image.Pt(clips.Width, clips.Height), decoded.Bounds().Size(), name)
	}

	garbage := filepath.Join(dir, "garbage")
	fake := append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41"), bytes.Repeat([]byte("x"), 5000)...)
	require.NoError(t, os.WriteFile(garbage, fake, 0o600))
	_, err := covers.Cover(context.Background(), garbage, "seed")
	assert.ErrorIs(t, err, ErrUndecodable)
}
