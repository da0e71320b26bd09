// Package demo seeds a running DouVo with a few users, short videos, and
// likes, comments and follows between them, through the public API, so
// that a newcomer's first look at the feed shows something alive. Seeding
// is idempotent: users that exist are signed in, users who have published
// already get no more videos, likes and follows are idempotent by nature,
// and comments are written only on videos published by the same run.
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

// Seed creates or signs in the demo users on the gateway behind api,
// publishes their videos and lets them react to each other, reporting
// progress through logf. Videos are made with ffmpeg's test sources when
// ffmpeg is on the machine, or taken from the clips package otherwise.
func Seed(ctx context.Context, api *apiclient.Client, logf func(format string, args ...any)) error {
	members, err := publish(ctx, api, logf)
	if err != nil {
		return err
	}
	return socialize(ctx, api, members, logf)
}

// member is a signed-in demo user and the videos they have published.
type member struct {
	name   string
	id     int64
	token  string
	videos []int64
	// fresh is whether the videos were published by this run.
	fresh bool
}

// publish signs in every demo user and publishes the videos of those who
// have none yet.
func publish(ctx context.Context, api *apiclient.Client, logf func(format string, args ...any)) ([]member, error) {
	ffmpeg, _ := exec.LookPath("ffmpeg")
	if ffmpeg == "" {
		logf("ffmpeg not found: publishing the built-in test clips")
	}
	dir, err := os.MkdirTemp("", "douvo-demo-")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)

	members := make([]member, 0, len(Users))
	n := 0
	for _, u := range Users {
		id, token, err := signIn(ctx, api, u.Name)
		if err != nil {
			return nil, err
		}
		m := member{name: u.Name, id: id, token: token}
		have, err := api.PublishList(ctx, token, id)
		if err != nil {
			return nil, fmt.Errorf("demo: %s's videos: %w", u.Name, err)
		}
		if len(have) > 0 {
			logf("%-9s already has %d videos", u.Name, len(have))
			for _, v := range have {
				m.videos = append(m.videos, v.ID)
			}
			members = append(members, m)
			n += len(u.Titles)
			continue
		}
		m.fresh = true
		for _, title := range u.Titles {
			clip, err := makeClip(ctx, ffmpeg, dir, n)
			if err != nil {
				return nil, err
			}
			v, err := api.Publish(ctx, token, title, bytes.NewReader(clip))
			if err != nil {
				return nil, fmt.Errorf("demo: publish %q: %w", title, err)
			}
			logf("%-9s published %q: %s", u.Name, title, v.PlayURL)
			m.videos = append(m.videos, v.ID)
			n++
		}
		members = append(members, m)
	}
	return members, nil
}

// socialize has every member follow the next two members and like every
// video of the next one, and comment on the first video of the next one
// when that video is fresh. Every member so has two followers, two
// followees and a friend, and every video a like.
func socialize(ctx context.Context, api *apiclient.Client, members []member,
	logf func(format string, args ...any),
) error {
	for i, m := range members {
		next := members[(i+1)%len(members)]
		for _, k := range []int{1, 2} {
			to := members[(i+k)%len(members)]
			if to.id == m.id {
				continue
			}
			if err := api.Follow(ctx, m.token, to.id, true); err != nil {
				return fmt.Errorf("demo: %s follows %s: %w", m.name, to.name, err)
			}
		}
		for _, v := range next.videos {
			if err := api.Favorite(ctx, m.token, v, true); err != nil {
				return fmt.Errorf("demo: %s likes video %d: %w", m.name, v, err)
			}
		}
		if next.fresh && len(next.videos) > 0 {
			text := fmt.Sprintf("Lovely work, %s!", next.name)
			if _, err := api.Comment(ctx, m.token, next.videos[0], text); err != nil {
				return fmt.Errorf("demo: %s comments: %w", m.name, err)
			}
		}
		logf("%-9s follows and likes %s", m.name, next.name)
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
