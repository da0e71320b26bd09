# Shared settings of the local scripts; sourced, not run.
# Every address stays on loopback.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
data="$root/.data"
rundir="$data/run"

# The toolchain: built and cached by toolchain.sh unless the caller points at
# an installation of its own (DAPR_CLI, DAPR_RUNTIME_PATH, DAPR_PLACEMENT,
# DAPR_SCHEDULER, DOUVO_BROKER).
toolchain() {
  local dir
  dir=$("$root/deploy/local/toolchain.sh")
  DAPR_CLI=${DAPR_CLI:-$dir/bin/dapr}
  DAPR_RUNTIME_PATH=${DAPR_RUNTIME_PATH:-$dir}
  DAPR_PLACEMENT=${DAPR_PLACEMENT:-$dir/bin/placement}
  DAPR_SCHEDULER=${DAPR_SCHEDULER:-$dir/bin/scheduler}
  DOUVO_BROKER=${DOUVO_BROKER:-$dir/bin/broker}
  export DAPR_CLI DAPR_RUNTIME_PATH DAPR_PLACEMENT DAPR_SCHEDULER DOUVO_BROKER
}

# ensure_secrets writes the local secret store's file once, with a random
# token signing key, readable by the owner only.
ensure_secrets() {
  mkdir -p "$data"
  if [ ! -s "$data/secrets.json" ]; then
    umask 077
    printf '{"token-signing-key": "%s"}\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
      > "$data/secrets.json"
  fi
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
