#!/usr/bin/env bash
# Runs the README's quick start as a newcomer would: `make run`, a few curl
# calls against http://localhost:8080, then `make stop`, and checks that no
# process of the system is left behind.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$root"

log=$(mktemp)
make --no-print-directory run >"$log" 2>&1 &
runner=$!
fail() { echo "smoke: $*" >&2; cat "$log" >&2; make --no-print-directory stop >/dev/null 2>&1; exit 1; }

for ((i = 0; i < 600; i++)); do
  grep -q "DouVo is up" "$log" && break
  kill -0 $runner 2>/dev/null || fail "make run exited early"
  sleep 0.5
done
grep -q "DouVo is up" "$log" || fail "not up after 5 minutes"
grep -q "ready  user" "$log" || fail "no readiness line for the user service"

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

make --no-print-directory stop >/dev/null
wait $runner 2>/dev/null || true
sleep 1
# Processes of this checkout: started from it, or naming it on their command
# line (test meshes of other checkouts are not ours).
left=""
for pid in $(pgrep -f "\.build/bin/|/\.dapr/bin/daprd|bin/(broker|placement|scheduler)|dapr run -f|redis-server|mariadbd" || true); do
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
  args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  if [ "$cwd" = "$root" ] || [[ $args == *"$root/"* ]]; then
    left+="$pid $args"$'\n'
  fi
done
[ -z "$left" ] || fail "processes left after make stop: $left"
echo "smoke: make run, the curl calls and make stop behaved; no process left"
