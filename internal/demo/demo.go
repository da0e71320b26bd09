// Package demo seeds a running DouVo with a few users and short videos
// through the public API, so that a newcomer's first look at the feed shows
// something alive. Seeding is idempotent: users that exist are signed in,
// and users who have published already get no more videos.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/douvo/douvo/internal/apiclient"
	"github.com/douvo/douvo/internal/clips"
)

// Password is every demo user's password.
const Password = "douvo-demo"

// Users are the demo accounts and the titles of the videos each publishes.
var Users = []struct {
	Name   string
	Titles []string
}{
	{"ada", []string{"Counting machines", "Notes on the engine", "Poetical science"}},
	{"grace", []string{"A nanosecond of wire", "Finding the first bug"}},
	{"linus", []string{"Just a hobby", "Release early, release often"}},
	{"margaret", []string{"Landing at 102:45:40", "Priority displays"}},
}

// sources are ffmpeg test sources, one look per video.
var sources = []string{
	"testsrc2", "cellauto=rule=110:size=360x640", "smptehdbars", "gradients",
	"life=ratio=0.3:mold=10:size=360x640", "rgbtestsrc", "testsrc", "pal75bars", "yuvtestsrc",
}

// Seed creates or signs in the demo users on the gateway behind api and
// publishes their videos, reporting progress through logf. Videos are made
// with ffmpeg's test sources when ffmpeg is on the machine, or taken from
// the clips package otherwise.
func Seed(ctx context.Context, api *apiclient.Client, logf func(format string, args ...any)) error {
	// TODO(demo): add likes, comments and follows between the demo users
	// once the services that own them exist.
	ffmpeg, _ := exec.LookPath("ffmpeg")
	if ffmpeg == "" {
		logf("ffmpeg not found: publishing the built-in test clips")
	}
	dir, err := os.MkdirTemp("", "douvo-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)

	n := 0
	for _, u := range Users {
		id, token, err := signIn(ctx, api, u.Name)
		if err != nil {
			return err
		}
		have, err := api.PublishList(ctx, token, id)
		if err != nil {
			return fmt.Errorf("demo: %s's videos: %w", u.Name, err)
		}
		if len(have) > 0 {
			logf("%-9s already has %d videos", u.Name, len(have))
			n += len(u.Titles)
			continue
		}
		for _, title := range u.Titles {
			clip, err := makeClip(ctx, ffmpeg, dir, n)
			if err != nil {
				return err
			}
			v, err := api.Publish(ctx, token, title, bytes.NewReader(clip))
			if err != nil {
				return fmt.Errorf("demo: publish %q: %w", title, err)
			}
			logf("%-9s published %q: %s", u.Name, title, v.PlayURL)
			n++
		}
	}
	return nil
}

// signIn registers name, or logs in when the name is taken.
func signIn(ctx context.Context, api *apiclient.Client, name string) (int64, string, error) {
	id, token, err := api.Register(ctx, name, Password)
	var apiErr *apiclient.Error
	if errors.As(err, &apiErr) && apiErr.Code == 409 {
		id, token, err = api.Login(ctx, name, Password)
	}
	if err != nil {
		return 0, "", fmt.Errorf("demo: sign in %s: %w", name, err)
	}
	return id, token, nil
}

// makeClip returns video number n: three seconds of a test source in
// portrait with ffmpeg, or one of the built-in clips.
func makeClip(ctx context.Context, ffmpeg, dir string, n int) ([]byte, error) {
	if ffmpeg == "" {
		return [][]byte{clips.MP4, clips.MOV, clips.WebM}[n%3], nil
	}
	out := filepath.Join(dir, fmt.Sprintf("clip%d.mp4", n))
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", sources[n%len(sources)], "-t", "3", "-r", "24",
		"-vf", "scale=360:640,setsar=1", "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p",
		"-movflags", "+faststart", out)
	cmd.Stderr = io.Discard
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("demo: make clip %d with ffmpeg: %w", n, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("demo: read clip: %w", err)
	}
	return b, nil
}
