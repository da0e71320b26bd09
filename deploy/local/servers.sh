#!/usr/bin/env bash
# The backing servers a profile needs (components/<profile>/servers), for
# make run and the test harness alike.
#
#   servers.sh list <profile>                  the servers, one per line
#   servers.sh install <profile>               install missing Debian packages
#                                              (the servers, and ffmpeg)
#   servers.sh run <server> <port> <dir> <secrets-file>
#                                              run one server in the foreground
#                                              on 127.0.0.1:<port>, data in <dir>,
#                                              until SIGTERM
#
# The embedded broker is not a Debian package; run.sh and the harness start
# it from the toolchain.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

list() {
  local file="$root/components/$1/servers"
  [ -f "$file" ] || { echo "unknown profile: $1 (no $file)" >&2; exit 2; }
  sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$file"
}

# secret reads one value of the local secret store's file.
secret() {
  sed -n -E "s/.*\"$2\": *\"([^\"]*)\".*/\1/p" "$1" | head -n 1
}

install() {
  local pkgs=() server
  # ffmpeg takes video covers from a real frame (the services fall back to a
  # placeholder without it, and the tests check real frames).
  command -v ffmpeg >/dev/null || pkgs+=(ffmpeg)
  for server in $(list "$1"); do
    case $server in
      redis) command -v redis-server >/dev/null || pkgs+=(redis-server) ;;
      mariadb) command -v mariadbd >/dev/null || pkgs+=(mariadb-server mariadb-client) ;;
    esac
  done
  [ ${#pkgs[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    # Without ffmpeg the services make placeholder covers; the servers are
    # another matter.
    if [ "${pkgs[*]}" = ffmpeg ]; then
      echo "==> ffmpeg is missing and cannot be installed here (needs root and apt-get):" \
        "covers will be placeholders" >&2
      return 0
    fi
    echo "The $1 profile needs ${pkgs[*]}: install them (as root: apt-get install ${pkgs[*]})" >&2
    exit 1
  fi
  echo "==> Installing ${pkgs[*]} from Debian packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
}

run_redis() {
  local port=$1 dir=$2 secrets=$3
  mkdir -p "$dir"
  exec redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
    --appendonly yes --appendfsync everysec --save "" \
    --requirepass "$(secret "$secrets" redis-password)"
}

run_mariadb() {
  local port=$1 dir=$2 secrets=$3 password
  password=$(secret "$secrets" mysql-password)
  mkdir -p "$dir"
  if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --no-defaults --user=root --datadir="$dir/data" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1
  fi
  mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$dir/mysqld.sock" \
    --pid-file="$dir/mysqld.pid" --bind-address=127.0.0.1 --port="$port" \
    --skip-name-resolve --innodb-buffer-pool-size=128M &
  local pid=$!
  trap 'kill -TERM $pid 2>/dev/null; wait $pid' TERM INT
  for ((i = 0; i < 300; i++)); do
    [ -S "$dir/mysqld.sock" ] && mariadb --no-defaults -uroot --socket="$dir/mysqld.sock" \
      -e 'SELECT 1' >/dev/null 2>&1 && break
    kill -0 $pid 2>/dev/null || exit 1
    sleep 0.1
  done
  mariadb --no-defaults -uroot --socket="$dir/mysqld.sock" <<SQL
CREATE USER IF NOT EXISTS 'douvo'@'127.0.0.1' IDENTIFIED BY '$password';
ALTER USER 'douvo'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'douvo'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
  # Create the schemas the components name, so that sidecars starting at once
  # (two instances of one app) do not race to create the same one.
  local schema
  for schema in $(awk '/name: schemaName/ {getline; print $2}' "$root"/components/mysql/*.yaml); do
    mariadb --no-defaults -uroot --socket="$dir/mysqld.sock" \
      -e "CREATE DATABASE IF NOT EXISTS \`$schema\`"
  done
  echo "mariadb ready on 127.0.0.1:$port"
  wait $pid
}

case ${1:-} in
  list) list "$2" ;;
  install) install "$2" ;;
  run)
    case $2 in
      redis) run_redis "$3" "$4" "$5" ;;
      mariadb) run_mariadb "$3" "$4" "$5" ;;
      *) echo "servers.sh cannot run $2" >&2; exit 2 ;;
    esac ;;
  *) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
