#!/usr/bin/env bash
# Install (when missing) and start a Docker engine, then wait until it answers.
# Also installs debootstrap (stand-in base images, see aegis.images) and Debian's docker-compose
# (v1.29: the runtime tests check Compose recognises aegis's stacks; the bench compares with it).
# Idempotent: safe to call on every CI run. Logs to ${DOCKERD_LOG:-/var/log/dockerd.log}.
set -euo pipefail

log=${DOCKERD_LOG:-/var/log/dockerd.log}
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"

answers() { timeout 5 /usr/bin/docker info >/dev/null 2>&1 || timeout 5 docker info >/dev/null 2>&1; }

need=""
command -v dockerd >/dev/null 2>&1 || need="$need docker.io"
command -v debootstrap >/dev/null 2>&1 || need="$need debootstrap"
command -v docker-compose >/dev/null 2>&1 || need="$need docker-compose"
if [ -n "$need" ]; then
  echo "docker engine: installing$need"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $need >/dev/null
fi

if answers; then echo "docker engine: already running"; exit 0; fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker engine: starting dockerd (log: $log)"
  $sudo mkdir -p "$(dirname "$log")"
  # setsid + nohup: the daemon must outlive this script and its shell.
  $sudo setsid nohup dockerd >>"$log" 2>&1 < /dev/null &
fi

for i in $(seq 1 60); do
  if answers; then echo "docker engine: ready after ${i}s"; exit 0; fi
  sleep 1
done
echo "docker engine: did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
