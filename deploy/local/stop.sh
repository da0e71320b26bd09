#!/usr/bin/env bash
# Stops everything run.sh started: the apps and their sidecars, then the
# broker, placement and scheduler. Safe to run when nothing is running.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$root"

# stop_pid ends a process started by run.sh: TERM, then KILL after 10 s.
stop_pid() {
  local file=$1 pid i
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

# The CLI stops each app and its sidecar when it gets SIGTERM.
stop_pid "$rundir/dapr.pid"
# Apps or sidecars that outlived the CLI (it was killed hard) are found by
# their command lines, among this checkout's processes.
left=$(own_pids '^\.build/bin/|/\.dapr/bin/daprd ')
if [ -n "$left" ]; then
  kill -TERM $left 2>/dev/null
  sleep 1
  kill -KILL $left 2>/dev/null
fi
for name in scheduler placement sentry broker redis mariadb; do
  stop_pid "$rundir/$name.pid"
done
exit 0
