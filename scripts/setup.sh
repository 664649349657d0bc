#!/usr/bin/env bash
# Set up everything on a fresh machine (idempotent): the Python package with its site and
# test dependencies in .venv, pnpm, the reference app's locked packages, PostgreSQL 15
# and Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PNPM_VERSION=10.34.9   # keep equal to examples/dixis/package.json "packageManager"

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "runbook-checks needs Python >= 3.11" >&2; exit 2; }
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,site]'
echo "runbook-checks installed in .venv ($(.venv/bin/runbook-checks --version))"

# Real documentation pages for the page-parity test: source archives, hash-checked
if [ "$(find .cache/pages -name '*.tar.gz' 2>/dev/null | wc -l)" -lt "$(grep -c '^[a-z]' tests/pages/requirements.txt)" ]; then
  .venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    --require-hashes -r tests/pages/requirements.txt -d .cache/pages
fi

command -v node >/dev/null || { echo "Node.js 20 or newer is needed for the reference app (apt-get install nodejs)" >&2; exit 2; }
if [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  npm install --global --silent "pnpm@$PNPM_VERSION"
fi
(cd examples/dixis && pnpm install --frozen-lockfile --reporter=append-only | tail -n 3)

# Debian packages: PostgreSQL 15 (temporary clusters for `rehearse --db postgres` and the
# tests) and Chromium (the tests look at the built site in a real headless browser).
missing=()
{ [ -x /usr/lib/postgresql/15/bin/initdb ] && command -v psql >/dev/null; } || missing+=(postgresql-15 postgresql-client-15)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${missing[*]} from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: not installed: ${missing[*]} (apt-get install ${missing[*]}); some tests need them" >&2
  fi
fi
