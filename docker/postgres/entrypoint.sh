#!/bin/bash
# What the official postgres image's entrypoint does, for the parts projects rely on:
# first start initialises PGDATA with POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB,
# runs /docker-entrypoint-initdb.d/*.sh|*.sql, then serves on all interfaces.
set -euo pipefail
if [ "${1:0:1}" = "-" ]; then set -- postgres "$@"; fi
if [ "$1" != "postgres" ]; then exec "$@"; fi

as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi; }

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != "trust" ]; then
    echo "Error: Database is uninitialized and superuser password is not specified." >&2
    echo "       Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)." >&2
    exit 1
  fi
  pwfile=$(mktemp); printf '%s' "${POSTGRES_PASSWORD:-}" > "$pwfile"; chown postgres "$pwfile"
  as_pg initdb --username="$POSTGRES_USER" --pwfile="$pwfile" -D "$PGDATA" ${POSTGRES_INITDB_ARGS:-} >/dev/null
  rm -f "$pwfile"
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"
  # Private server on the socket only while initialising, as the official image does.
  as_pg pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w start >/dev/null
  export PGUSER="$POSTGRES_USER" PGHOST=/var/run/postgresql
  if [ "$POSTGRES_DB" != "postgres" ]; then
    as_pg psql -v ON_ERROR_STOP=1 -q --dbname postgres -c "CREATE DATABASE \"$POSTGRES_DB\";"
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "running $f"; . "$f" ;;
      *.sql) echo "running $f"; as_pg psql -v ON_ERROR_STOP=1 -q --dbname "$POSTGRES_DB" -f "$f" ;;
    esac
  done
  as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  unset PGUSER PGHOST
  echo "PostgreSQL init process complete; ready for start up."
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$@" -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql
