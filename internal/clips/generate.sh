#!/usr/bin/env bash
# Regenerates the tiny clips this package embeds, with ffmpeg's test source:
# two seconds of 320x240 at 10 frames per second, in each accepted container.
# Run it from anywhere; it writes next to itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
src=(-f lavfi -i "testsrc=size=320x240:rate=10:duration=2")
common=(-hide_banner -loglevel error -y)
out=(-map_metadata -1 -fflags +bitexact -flags:v +bitexact)
ffmpeg "${common[@]}" "${src[@]}" "${out[@]}" -c:v libx264 -preset veryfast -crf 38 -pix_fmt yuv420p \
  -movflags +faststart testsrc.mp4
ffmpeg "${common[@]}" "${src[@]}" "${out[@]}" -c:v libx264 -preset veryfast -crf 38 -pix_fmt yuv420p \
  -f mov testsrc.mov
ffmpeg "${common[@]}" "${src[@]}" "${out[@]}" -c:v libvpx-vp9 -b:v 0 -crf 55 -deadline realtime \
  testsrc.webm
ls -l testsrc.*
