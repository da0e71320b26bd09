// Command video runs the video service beside its Dapr sidecar: its
// internal API, media delivery and the consumer of like and comment events,
// which keeps the videos' counters.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/douvo/douvo/internal/platform/boot"
	"github.com/douvo/douvo/internal/platform/config"
	"github.com/douvo/douvo/internal/platform/events"
	"github.com/douvo/douvo/internal/platform/web"
	"github.com/douvo/douvo/services/video"
)

// Config is the video service's configuration.
type Config struct {
	config.Server
	Sidecar config.Sidecar
	// MaxUpload is the largest accepted video file in bytes. The sidecar's
	// maxBodySize in dapr.yaml must be at least this large.
	MaxUpload int64 `env:"MAX_UPLOAD_BYTES" envDefault:"104857600"`
	// UploadTimeout bounds one upload, and the writing of one media answer.
	UploadTimeout time.Duration `env:"UPLOAD_TIMEOUT" envDefault:"10m"`
	// SpoolDir holds uploads while they are checked; empty means the
	// system's temporary folder.
	SpoolDir string `env:"UPLOAD_SPOOL_DIR"`
	// FFmpeg is the ffmpeg binary that takes covers from videos, a name
	// looked up in PATH or a path; "none" turns it off, and covers are then
	// generated placeholders, as when ffmpeg is missing.
	FFmpeg string `env:"FFMPEG_PATH" envDefault:"ffmpeg"`
	// CoverParallel bounds how many ffmpeg processes run at once.
	CoverParallel int `env:"COVER_PARALLEL" envDefault:"2"`
	// CoverTimeout bounds the taking of one cover frame.
	CoverTimeout time.Duration `env:"COVER_TIMEOUT" envDefault:"30s"`
}

func main() { boot.Main(video.AppID, run) }

func run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	env, err := boot.Connect(ctx, video.AppID, logger, cfg.Server, cfg.Sidecar)
	if err != nil {
		return err
	}
	defer env.Close()

	ffmpeg := cfg.FFmpeg
	if ffmpeg == "none" {
		ffmpeg = ""
	}
	blobs := video.NewDaprBlobs(env.Sidecar.Dapr, video.BindingName)
	svc := video.NewService(video.NewDaprStore(env.Sidecar.Dapr, video.StoreName), blobs,
		video.NewCovers(ffmpeg, cfg.CoverParallel, cfg.CoverTimeout, logger),
		video.Config{MaxUpload: cfg.MaxUpload, SpoolDir: cfg.SpoolDir})

	opts := env.Options(video.StoreName, video.BindingName, events.PubSub)
	opts.Streamed = video.Streamed
	opts.StreamTimeout = cfg.UploadTimeout
	app := web.New(opts)
	video.Routes(app, svc, video.NewMedia(svc, blobs, cfg.UploadTimeout))
	events.Mount(app, logger, video.Subscriptions(svc)...)
	return env.Serve(ctx, app)
}
