#!/usr/bin/env bash
# The main job on a fresh machine: install, lint the runbooks, run the demo runbook
# (checks and steps), verify the ledger and print the report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
rc=.venv/bin/runbook-checks
runbook=examples/demo/DEMO-RUNBOOK.md
$rc lint examples docs
export DEMO_API_TOKEN=${DEMO_API_TOKEN:-demo-token-$RANDOM$RANDOM}
$rc run "$runbook" --execute --confirm DEMO-OK
$rc verify runbook-results
$rc report "$runbook"
