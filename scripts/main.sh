#!/usr/bin/env bash
# The main job on a fresh machine: set everything up, lint the runbooks, rehearse the
# staging migration runbook on an embedded PGlite database (every block, steps
# included; nothing real is touched), verify the ledger, print the report and build
# the site (site/) whose tables and badges show the recorded results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
rc=.venv/bin/runbook-checks
staging=docs/OPS/RUNBOOKS/DB-MIGRATION-STAGING.md
$rc lint docs
$rc rehearse "$staging"
$rc verify runbook-results
$rc report "$staging" --environment rehearsal
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet
echo "site built in site/ (open site/index.html, or: .venv/bin/mkdocs serve)"
