#!/bin/sh
# As the official image: flags alone go to traefik; a full command runs as given.
set -e
if [ "${1#-}" != "$1" ] || [ $# -eq 0 ]; then set -- traefik "$@"; fi
exec "$@"
