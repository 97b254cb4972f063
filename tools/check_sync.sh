#!/usr/bin/env bash
# Fails when the notebooks, the exported package and the README disagree with what is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(git status --porcelain)
nbdev-clean
nbdev-export
python tools/readme.py
after=$(git status --porcelain)
if [ "$before" != "$after" ]; then
  echo "nbdev-clean / nbdev-export / tools/readme.py changed the tree: notebooks and library out of sync" >&2
  git status --short >&2
  git diff --stat >&2
  exit 1
fi
echo "notebooks, package and README in sync"
