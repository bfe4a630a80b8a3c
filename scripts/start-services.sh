#!/usr/bin/env bash
# Start Redis, PostgreSQL and MariaDB on this machine when they are not already running.
# (Users with Docker can use docker/compose.yaml instead.)
set -euo pipefail

if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
if ! mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi
for _ in $(seq 1 60); do
  redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -q && mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "services did not come up: redis, postgres or mariadb is not answering on 127.0.0.1" >&2
exit 1
