#!/usr/bin/env bash
# Runs the README's quick start as a newcomer would: `make run`, a few curl
# calls against http://localhost:8080, then `make stop`; then again, stopped
# with Ctrl-C this time (SIGINT to make's process group, as a terminal sends
# it). After each stop it checks that no process of the system is left.
# PROFILE picks the profile, as for make run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$root"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
fail() { echo "smoke: $*" >&2; cat "$log" >&2; make --no-print-directory stop >/dev/null 2>&1; exit 1; }

# Job control gives make run a process group of its own, and leaves SIGINT
# to it (a shell without job control makes background commands ignore it).
set -m

# start runs make run in the background and waits until it is up.
start() {
  : >"$log"
  make --no-print-directory run >"$log" 2>&1 &
  runner=$!
  for ((i = 0; i < 600; i++)); do
    grep -q "DouVo is up" "$log" && break
    kill -0 $runner 2>/dev/null || fail "make run exited early"
    sleep 0.5
  done
  grep -q "DouVo is up" "$log" || fail "not up after 5 minutes"
  grep -q "ready  user" "$log" || fail "no readiness line for the user service"
}

# quick_start registers, logs in and reads the user back with curl.
quick_start() {
  local name reg login token info
  name="smoke$RANDOM$RANDOM"
  reg=$(curl -fsS -X POST "http://localhost:8080/douyin/user/register/?username=$name&password=pw12345")
  echo "register: $reg"
  [[ $reg == *'"status_code":0'* ]] || fail "register failed"
  login=$(curl -fsS -X POST "http://localhost:8080/douyin/user/login/" -d "username=$name&password=pw12345")
  echo "login:    $login"
  token=$(sed -E 's/.*"token":"([^"]+)".*/\1/' <<<"$login")
  info=$(curl -fsS "http://localhost:8080/douyin/user/?token=$token")
  echo "info:     $info"
  [[ $info == *"\"name\":\"$name\""* ]] || fail "user info does not show the new user"
}

# nothing_left fails when a process of the system outlived the stop.
nothing_left() {
  local left="" pid
  for ((i = 0; i < 30; i++)); do
    left=""
    for pid in $(own_pids "$system_pattern"); do
      left+="$pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"$'\n'
    done
    [ -z "$left" ] && return 0
    sleep 0.5
  done
  fail "processes left after $1: $left"
}

start
quick_start
make --no-print-directory stop >/dev/null
wait $runner 2>/dev/null || true
nothing_left "make stop"
echo "smoke: make run, the curl calls and make stop behaved; no process left"

start
quick_start
kill -INT -- "-$runner"
wait $runner 2>/dev/null || true
nothing_left "Ctrl-C"
echo "smoke: Ctrl-C stopped everything; no process left"
