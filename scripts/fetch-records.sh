#!/usr/bin/env bash
# Put the published run records (the records branch of origin, default runbook-results)
# into DIR (default runbook-results/) before a run, so each run extends the published
# chains and the production gate reads staging's published evidence. A repository whose
# records branch does not exist yet starts with none. Reference: docs/reference/github.md.
set -euo pipefail
dir=${1:-runbook-results}
branch=${RECORDS_BRANCH:-runbook-results}
mkdir -p "$dir"
if git fetch --quiet --depth=1 origin "refs/heads/$branch" 2>/dev/null; then
  git archive FETCH_HEAD -- '*.jsonl' 2>/dev/null | tar -x -C "$dir" || true
  echo "fetched the published records of branch $branch: $(find "$dir" -maxdepth 1 -name '*.jsonl' | wc -l) ledger(s)"
else
  echo "no records branch $branch yet: starting with no published records"
fi
