#!/usr/bin/env bash
# Starts DouVo on a profile (PROFILE, default local): the servers it needs,
# Dapr placement and scheduler, then every app beside its sidecar through
# `dapr run -f`. Prints a line per app as it becomes ready. Ctrl-C stops
# everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$root"

profile=${PROFILE:-local}
toolchain
"$root/deploy/local/servers.sh" install "$profile"
ensure_secrets
ensure_api_tokens
mkdir -p "$rundir"

if [ -s "$rundir/dapr.pid" ] && kill -0 "$(cat "$rundir/dapr.pid")" 2>/dev/null; then
  echo "DouVo is already running; stop it with: make stop" >&2
  exit 1
fi

stopping=0
cleanup() {
  [ "$stopping" = 1 ] && return
  stopping=1
  echo
  echo "==> Stopping DouVo"
  "$root/deploy/local/stop.sh"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_bg() { # name, command...
  local name=$1
  shift
  "$@" >"$rundir/$name.log" 2>&1 &
  echo $! >"$rundir/$name.pid"
}

echo "==> Starting the $profile profile's servers, sentry, placement and scheduler"
for server in $("$root/deploy/local/servers.sh" list "$profile"); do
  case $server in
    broker)
      start_bg broker "$DOUVO_BROKER" -host 127.0.0.1 -port 4222 -store "$data/nats" \
        -streams components/broker/streams.txt
      wait_port 4222 ;;
    redis)
      start_bg redis "$root/deploy/local/servers.sh" run redis 6379 "$data/redis" "$data/secrets.json"
      wait_port 6379 ;;
    mariadb)
      start_bg mariadb "$root/deploy/local/servers.sh" run mariadb 3306 "$data/mariadb" "$data/secrets.json"
      for ((i = 0; i < 600; i++)); do grep -q "mariadb ready" "$rundir/mariadb.log" && break; sleep 0.2; done
      grep -q "mariadb ready" "$rundir/mariadb.log" || { cat "$rundir/mariadb.log" >&2; exit 1; } ;;
  esac
done
# Sentry issues every sidecar's and the control plane's identity; on first
# run it makes its own root certificate under .data/sentry. The Dapr CLI
# points sidecars at localhost:50001 when their configuration asks for mTLS.
mkdir -p "$data/sentry" "$data/scheduler-tls"
start_bg sentry "$DAPR_SENTRY" --listen-address 127.0.0.1 --port 50001 \
  --healthz-listen-address 127.0.0.1 --healthz-port 50008 --enable-metrics=false \
  --issuer-credentials "$data/sentry" --trust-domain localhost --config components/config/sentry.yaml
wait_port 50001
DAPR_TRUST_ANCHORS=$(cat "$data/sentry/ca.crt")
export DAPR_TRUST_ANCHORS
mtls=(--tls-enabled --trust-domain localhost --trust-anchors-file "$data/sentry/ca.crt"
  --sentry-address 127.0.0.1:50001)
start_bg placement "$DAPR_PLACEMENT" --listen-address 127.0.0.1 --port 50005 \
  --healthz-listen-address 127.0.0.1 --healthz-port 50007 --enable-metrics=false \
  --raft-logstore-path "$data/placement" "${mtls[@]}"
start_bg scheduler "$DAPR_SCHEDULER" --listen-address 127.0.0.1 --port 50006 \
  --healthz-listen-address 127.0.0.1 --healthz-port 50009 --enable-metrics=false \
  --etcd-data-dir "$data/scheduler" --etcd-client-port 50012 \
  --etcd-initial-cluster dapr-scheduler-server-0=http://127.0.0.1:50013 \
  --identity-directory-write "$data/scheduler-tls/identity" "${mtls[@]}"
wait_port 50005 && wait_port 50006

# Other profiles run the same run file with their own components folder.
runfile=dapr.yaml
if [ "$profile" != local ]; then
  runfile=".dapr.$profile.yaml"
  sed "s#./components/local#./components/$profile#" dapr.yaml >"$runfile"
fi

echo "==> Starting the apps (logs in .dapr/logs and .data/run)"
DAPR_HOST_IP=127.0.0.1 DAPR_RUNTIME_PATH="$DAPR_RUNTIME_PATH" \
  "$DAPR_CLI" run -f "$runfile" >"$rundir/dapr.log" 2>&1 &
echo $! >"$rundir/dapr.pid"

# One line per app as its readiness probe passes.
mapfile -t apps < <(awk '/appID:/ {id=$NF} /appPort:/ {print id " " $NF}' dapr.yaml)
pending=("${apps[@]}")
deadline=$((SECONDS + 120))
while [ ${#pending[@]} -gt 0 ]; do
  if ! kill -0 "$(cat "$rundir/dapr.pid")" 2>/dev/null; then
    echo "dapr run exited; see .data/run/dapr.log" >&2
    tail -n 20 "$rundir/dapr.log" >&2
    exit 1
  fi
  if [ $SECONDS -gt $deadline ]; then
    echo "not ready after 120s: ${pending[*]}; see .dapr/logs" >&2
    exit 1
  fi
  next=()
  for app in "${pending[@]}"; do
    read -r id port <<<"$app"
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then
      printf '    ready  %-10s http://127.0.0.1:%s\n' "$id" "$port"
    else
      next+=("$app")
    fi
  done
  pending=("${next[@]}")
  sleep 0.2
done

echo "==> DouVo is up on the $profile profile: the gateway listens on http://localhost:8080"
echo "    Try: curl -X POST 'http://localhost:8080/douyin/user/register/?username=ada&password=lovelace'"
echo "    Seed a few users and videos into the feed: make demo (in another terminal)"
echo "    Stop with Ctrl-C or: make stop"
wait "$(cat "$rundir/dapr.pid")"
