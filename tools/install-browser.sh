#!/usr/bin/env bash
# Headless Chromium from Debian's packages, plus the Python side of the browser tests and the docs
# (playwright, mkdocs-material: in the `dev` extra). Idempotent: a second run takes well under a second.
# Playwright drives /usr/bin/chromium; it never downloads a browser (that cannot work offline here).
set -euo pipefail
PY=${PY:-python3}
if ! [ -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
if ! "$PY" -c "import playwright, mkdocs, material" 2>/dev/null; then
  "$PY" -m pip install -q "playwright>=1.45" "mkdocs-material>=9.5,<10" 2>&1 | grep -v -e "as the .root. user" -e "is ignored" || true
fi
/usr/bin/chromium --version 2>/dev/null | head -1
