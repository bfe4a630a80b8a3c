#!/usr/bin/env bash
# Start a MariaDB with the VECTOR type (11.8, Debian trixie's) on 127.0.0.1:3307 for the MySQL sink's
# VECTOR test. Debian bookworm ships MariaDB 10.11 (no VECTOR) and no MySQL; installing trixie's
# packages would replace the system's libc. So the .debs are downloaded with a private apt
# configuration, unpacked (not installed) into one directory, and mariadbd runs through trixie's own
# dynamic loader and libraries from there. Nothing outside $DIR changes. Does nothing when the
# server already answers. Root with empty password, database `test`.
set -euo pipefail

DIR=${TESSERA_MARIADB_VECTOR_DIR:-/var/lib/tessera/mariadb-vector}
PORT=${TESSERA_MARIADB_VECTOR_PORT:-3307}
ROOT=$DIR/root
LIB=$ROOT/usr/lib/x86_64-linux-gnu
MARIADBD=(env -i "$LIB/ld-linux-x86-64.so.2" --library-path "$LIB" "$ROOT/usr/sbin/mariadbd" --defaults-file="$DIR/my.cnf")

answers() { mysqladmin -h 127.0.0.1 -P "$PORT" -uroot ping >/dev/null 2>&1; }
answers && exit 0

if [ ! -x "$ROOT/usr/sbin/mariadbd" ]; then
  mkdir -p "$DIR/apt/lists/partial" "$DIR/apt/cache/archives/partial" "$DIR/debs"
  chmod -R 755 "$DIR"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" > "$DIR/apt/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$DIR/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$DIR/apt/lists" -o "Dir::Cache=$DIR/apt/cache" -o Dir::State::status=/dev/null -qq)
  apt-get "${apt_opts[@]}" update 2>&1 | grep -v unsandboxed || true
  # mariadbd and what it links against, as trixie has them
  (cd "$DIR/debs" && apt-get "${apt_opts[@]}" download mariadb-server-core mariadb-common libc6 libaio1t64 libcrypt1 \
    libgcc-s1 libnuma1 libpcre2-8-0 libssl3t64 libstdc++6 libsystemd0 liburing2 zlib1g libcap2 libgcrypt20 \
    libgpg-error0 liblz4-1 liblzma5 libzstd1 2>&1 | grep -v unsandboxed || true)
  rm -rf "$ROOT" && mkdir -p "$ROOT"
  for deb in "$DIR"/debs/*.deb; do dpkg -x "$deb" "$ROOT"; done
fi

cat > "$DIR/my.cnf" <<EOF
[mariadbd]
datadir=$DIR/data
basedir=$ROOT/usr
lc-messages-dir=$ROOT/usr/share/mariadb
plugin-dir=$ROOT/usr/lib/mysql/plugin
socket=$DIR/mariadb.sock
pid-file=$DIR/mariadb.pid
log-error=$DIR/error.log
port=$PORT
bind-address=127.0.0.1
user=root
skip-log-bin
innodb_buffer_pool_size=64M
EOF

if [ ! -d "$DIR/data/mysql" ]; then
  rm -rf "$DIR/data" && mkdir -p "$DIR/data"
  share=$ROOT/usr/share/mariadb
  # what mariadb-install-db feeds the server (its helper tools would need trixie's libc too); one statement a line
  {
    echo "CREATE DATABASE IF NOT EXISTS mysql;"
    echo "use mysql;"
    cat "$share/mariadb_system_tables.sql" "$share/mariadb_performance_tables.sql"
    echo "SET @auth_root_authentication_method='normal';"
    echo "SET @skip_auth_root_nopasswd=NULL;"
    cat "$share/mariadb_system_tables_data.sql"
    echo "CREATE DATABASE IF NOT EXISTS test;"
  } | "${MARIADBD[@]}" --bootstrap --log-warnings=0
fi

setsid "${MARIADBD[@]}" >/dev/null 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  answers && exit 0
  sleep 1
done
echo "MariaDB (VECTOR) did not come up on 127.0.0.1:$PORT; see $DIR/error.log" >&2
exit 1
