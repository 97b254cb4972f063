#!/bin/sh
# As the official image: flags or a traefik subcommand go to traefik; anything else runs as given.
set -e
case "${1:-}" in
  ""|-*|version|healthcheck) set -- traefik "$@" ;;
esac
exec "$@"
