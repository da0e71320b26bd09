#!/usr/bin/env bash
# Measures what a newcomer waits for and what the running system costs:
#   1. a cold build of the Dapr toolchain (empty Go build cache; modules that
#      are already downloaded are reused unless --download is given),
#   2. the time from `make run` to every app being ready, on a warm machine,
#   3. the resident memory of the whole running system at idle.
# Prints a small report. Stops anything it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$root"

download=0
[ "${1:-}" = "--download" ] && download=1

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"; "$root/deploy/local/stop.sh" >/dev/null 2>&1 || true' EXIT

echo "==> 1. Cold toolchain build (fresh build cache$([ $download = 1 ] && echo ' and module cache'))"
export_env=(DOUVO_CACHE="$scratch/cache" GOCACHE="$scratch/gocache")
[ $download = 1 ] && export_env+=(GOMODCACHE="$scratch/gomod" GOFLAGS=-modcacherw)
t0=$(date +%s.%N)
env "${export_env[@]}" "$root/deploy/local/toolchain.sh" >/dev/null 2>"$scratch/build.log"
t1=$(date +%s.%N)
cold=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
chmod -R u+w "$scratch" 2>/dev/null || true

echo "==> 2. Start to ready on a warm machine"
make --no-print-directory build >/dev/null
toolchain >/dev/null
"$root/deploy/local/stop.sh" >/dev/null 2>&1 || true
t0=$(date +%s.%N)
"$root/deploy/local/run.sh" >"$scratch/run.log" 2>&1 &
runner=$!
until grep -q "DouVo is up" "$scratch/run.log"; do
  kill -0 $runner 2>/dev/null || { cat "$scratch/run.log"; exit 1; }
  sleep 0.05
done
t1=$(date +%s.%N)
ready=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')

echo "==> 3. Resident memory at idle (after 10 s)"
sleep 10
report=$(ps -eo rss=,args= | awk -v root="$root" '
  /\/\.dapr\/bin\/daprd / {d+=$1; dn++; next}
  $2 ~ /^\.build\/bin\// {a+=$1; an++; next}
  $2 ~ /bin\/(broker|placement|scheduler)$/ {c+=$1; cn++; next}
  END {printf "%d %d %d %d %d %d", d, dn, a, an, c, cn}')
read -r daprd_kb daprd_n apps_kb apps_n infra_kb infra_n <<<"$report"

kill -TERM $runner 2>/dev/null || true
wait $runner 2>/dev/null || true

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
echo
echo "DouVo measurements ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
printf '  cold toolchain build          %6.1f s\n' "$cold"
printf '  make run to all apps ready    %6.2f s\n' "$ready"
printf '  idle memory, %d sidecars       %6s MiB\n' "$daprd_n" "$(mib "$daprd_kb")"
printf '  idle memory, %d apps           %6s MiB\n' "$apps_n" "$(mib "$apps_kb")"
printf '  idle memory, broker+placement+scheduler %s MiB\n' "$(mib "$infra_kb")"
printf '  idle memory, whole system     %6s MiB\n' "$(mib $((daprd_kb + apps_kb + infra_kb)))"
