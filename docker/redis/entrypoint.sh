#!/bin/sh
# Like the official image: a bare `redis-server` listens on all interfaces without
# protected mode (the container network is the boundary).
set -e
if [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = "redis-server" ]; then
  shift
  exec redis-server --bind '* -::*' --protected-mode no "$@"
fi
exec "$@"
