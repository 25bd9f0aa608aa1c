#!/bin/sh
# The smoke run's PostgreSQL stand-in (Debian's postgresql package), doing what the official
# image's entrypoint does on a first start: initdb with POSTGRES_USER/PASSWORD, create
# POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sh against it; then serve on every address.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
         --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -o "-c listen_addresses='' -c unix_socket_directories=/tmp" -w start >/dev/null
  export PGHOST=/tmp
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -c "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\""
  for script in /docker-entrypoint-initdb.d/*.sh; do
    [ -e "$script" ] && sh "$script"
  done
  pg_ctl -m fast -w stop >/dev/null
  unset PGHOST
fi
exec postgres -c listen_addresses='*' -c unix_socket_directories=/tmp,/run/postgresql
