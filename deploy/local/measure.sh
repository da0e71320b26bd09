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
env -u DOUVO_TOOLCHAIN "${export_env[@]}" "$root/deploy/local/toolchain.sh" >/dev/null 2>"$scratch/build.log"
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
# rss_of sums the resident memory (KiB) of this checkout's processes that
# match $1, and counts them.
rss_of() {
  local kb=0 n=0 pid rss
  for pid in $(own_pids "$1"); do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$rss" ] || continue
    kb=$((kb + rss))
    n=$((n + 1))
  done
  echo "$kb $n"
}
read -r daprd_kb daprd_n < <(rss_of '/\.dapr/bin/daprd ')
read -r apps_kb apps_n < <(rss_of '^\.build/bin/')
read -r infra_kb infra_n < <(rss_of 'bin/(broker|placement|scheduler|sentry) |redis-server|mariadbd')

kill -TERM $runner 2>/dev/null || true
wait $runner 2>/dev/null || true

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
echo
echo "DouVo measurements ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
printf '  cold toolchain build          %6.1f s\n' "$cold"
printf '  make run to all apps ready    %6.2f s\n' "$ready"
printf '  idle memory, %d sidecars       %6s MiB\n' "$daprd_n" "$(mib "$daprd_kb")"
printf '  idle memory, %d apps           %6s MiB\n' "$apps_n" "$(mib "$apps_kb")"
printf '  idle memory, %d servers (broker or stores, sentry, placement, scheduler) %s MiB\n' "$infra_n" "$(mib "$infra_kb")"
printf '  idle memory, whole system     %6s MiB\n' "$(mib $((daprd_kb + apps_kb + infra_kb)))"
