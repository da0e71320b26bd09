# Shared settings of the local scripts; sourced, not run.
# Every address stays on loopback.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
data="$root/.data"
rundir="$data/run"

# The toolchain: built and cached by toolchain.sh unless the caller points at
# an installation of its own (DAPR_CLI, DAPR_RUNTIME_PATH, DAPR_PLACEMENT,
# DAPR_SCHEDULER, DAPR_SENTRY, DOUVO_BROKER).
toolchain() {
  local dir
  dir=$("$root/deploy/local/toolchain.sh")
  DAPR_CLI=${DAPR_CLI:-$dir/bin/dapr}
  DAPR_RUNTIME_PATH=${DAPR_RUNTIME_PATH:-$dir}
  DAPR_PLACEMENT=${DAPR_PLACEMENT:-$dir/bin/placement}
  DAPR_SCHEDULER=${DAPR_SCHEDULER:-$dir/bin/scheduler}
  DAPR_SENTRY=${DAPR_SENTRY:-$dir/bin/sentry}
  DOUVO_BROKER=${DOUVO_BROKER:-$dir/bin/broker}
  export DAPR_CLI DAPR_RUNTIME_PATH DAPR_PLACEMENT DAPR_SCHEDULER DAPR_SENTRY DOUVO_BROKER
}

# random_hex prints n random bytes as hex.
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ensure_secrets writes the local secret store's file once, readable by the
# owner only: the token signing key and the passwords of the local servers,
# one key per line.
ensure_secrets() {
  mkdir -p "$data"
  [ -s "$data/secrets.json" ] && grep -q mysql-connection-string "$data/secrets.json" && return 0
  local mysql_password
  mysql_password=$(random_hex 16)
  (
    umask 077
    cat >"$data/secrets.json" <<JSON
{
  "token-signing-key": "$(random_hex 32)",
  "redis-password": "$(random_hex 16)",
  "mysql-password": "$mysql_password",
  "mysql-connection-string": "douvo:$mysql_password@tcp(127.0.0.1:3306)/?allowNativePasswords=true"
}
JSON
  )
}

# ensure_api_tokens exports the Dapr API token (app to sidecar) and the app
# API token (sidecar to app), generated once under .data. Sidecars and apps
# inherit them from the Dapr CLI.
ensure_api_tokens() {
  mkdir -p "$data"
  if [ ! -s "$data/api-tokens" ]; then
    (umask 077 && printf 'DAPR_API_TOKEN=%s\nAPP_API_TOKEN=%s\n' "$(random_hex 32)" "$(random_hex 32)" \
      >"$data/api-tokens")
  fi
  set -a
  source "$data/api-tokens"
  set +a
}

# wait_port waits until something listens on 127.0.0.1:$1, for at most $2 s.
wait_port() {
  local port=$1 limit=${2:-30} i
  for ((i = 0; i < limit * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$port after ${limit}s" >&2
  return 1
}

# own_pids prints the process ids of this checkout's system: processes
# matching the extended regular expression $1 that were started from the
# checkout or name it on their command line (test meshes and runs of other
# checkouts are not ours).
own_pids() {
  local pid cwd args
  for pid in $(pgrep -f "$1" || true); do
    [ "$pid" = "$$" ] && continue
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
    args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    if [ "$cwd" = "$root" ] || [[ $args == *"$root/"* ]]; then
      echo "$pid"
    fi
  done
}

# system_pattern matches the command lines of every process make run starts.
system_pattern='\.build/bin/|/\.dapr/bin/daprd|bin/(broker|placement|scheduler|sentry)|dapr run -f|redis-server|mariadbd'
