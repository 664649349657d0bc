#!/usr/bin/env bash
# Put the published run records (the records branch of origin, default runbook-results)
# into DIR (default runbook-results/) before a run, so each run extends the published
# chains and the production gate reads staging's published evidence. A repository whose
# records branch does not exist yet starts with none. Reference: docs/reference/github.md.
set -euo pipefail
dir=${1:-runbook-results}
branch=${RECORDS_BRANCH:-runbook-results}
mkdir -p "$dir"
set +e
git ls-remote --exit-code --heads origin "refs/heads/$branch" >/dev/null
found=$?
set -e
if [ "$found" = 2 ]; then  # the remote answered: no such branch
  echo "no records branch $branch yet: starting with no published records"
  exit 0
elif [ "$found" != 0 ]; then  # an unreachable remote is no empty history: a run must not start a new chain
  echo "::error::cannot read the records branch $branch of origin (git ls-remote exit $found)" >&2
  exit 1
fi
git fetch --quiet --depth=1 origin "refs/heads/$branch"
if git ls-tree -r --name-only FETCH_HEAD | grep -q '\.jsonl$'; then  # <id>.jsonl and a fleet's <id>/<target>.jsonl
  git archive FETCH_HEAD -- '*.jsonl' | tar -x -C "$dir"
fi
echo "fetched the published records of branch $branch: $(find "$dir" -maxdepth 2 -name '*.jsonl' | wc -l) ledger(s)"
