#!/usr/bin/env bash
# Builds the pinned Dapr toolchain (daprd with DouVo's extra components,
# placement, scheduler, the dapr CLI) and the embedded broker from the Go
# module proxy into a cache folder keyed by the pins, and prints that folder.
# A folder that is complete is reused as it is: later runs take milliseconds.
#
# Layout of the printed folder:
#   .dapr/bin/daprd               the runtime, where the dapr CLI looks for it
#   bin/dapr bin/placement bin/scheduler bin/sentry bin/broker
#
# DOUVO_TOOLCHAIN names a folder of that layout made elsewhere (links to a
# Dapr 1.16 installation, say): it is checked and printed, and nothing is
# built. Its daprd must register the components tools/runtime adds.
set -euo pipefail

if [ -n "${DOUVO_TOOLCHAIN:-}" ]; then
  for f in .dapr/bin/daprd bin/dapr bin/placement bin/scheduler bin/sentry bin/broker; do
    [ -x "$DOUVO_TOOLCHAIN/$f" ] || { echo "DOUVO_TOOLCHAIN=$DOUVO_TOOLCHAIN has no executable $f" >&2; exit 1; }
  done
  echo "$DOUVO_TOOLCHAIN"
  exit 0
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

dapr_version=1.16.0
cache=${DOUVO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/douvo}
key=$(cat tools/runtime/go.mod tools/runtime/go.sum tools/runtime/cmd/daprd/*.go \
  tools/cli/go.mod tools/cli/go.sum tools/broker/go.mod tools/broker/go.sum \
  tools/broker/main.go deploy/local/toolchain.sh | sha256sum | cut -c1-16)
dir="$cache/toolchain-$dapr_version-$key"

if [ -f "$dir/.complete" ]; then
  echo "$dir"
  exit 0
fi

say() { printf '%s\n' "$*" >&2; }
mkdir -p "$dir/.dapr/bin" "$dir/bin"
start=$(date +%s)
ldflags="-X github.com/dapr/dapr/pkg/buildinfo.version=$dapr_version"

say "==> Building the Dapr toolchain v$dapr_version into $dir"
say "    (first run only: module downloads and about five minutes of compiling on two cores)"
say "--> daprd"
(cd tools/runtime && go build -tags stablecomponents -ldflags "$ldflags" -o "$dir/.dapr/bin/daprd" ./cmd/daprd)
say "--> placement, scheduler and sentry"
(cd tools/runtime && go build -tags stablecomponents -ldflags "$ldflags" -o "$dir/bin/" \
  github.com/dapr/dapr/cmd/placement github.com/dapr/dapr/cmd/scheduler github.com/dapr/dapr/cmd/sentry)
say "--> dapr CLI"
(cd tools/cli && go build -o "$dir/bin/dapr" github.com/dapr/cli)
say "--> broker"
(cd tools/broker && go build -o "$dir/bin/broker" .)

touch "$dir/.complete"
say "==> Toolchain ready in $(( $(date +%s) - start ))s"
echo "$dir"
