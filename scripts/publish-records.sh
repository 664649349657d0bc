#!/usr/bin/env bash
# Publish the run records in DIR (the ledgers a workflow run extended) to the records
# branch of origin (default runbook-results): every ledger must verify, and must still
# hold the head of its published version (nothing published is ever dropped), before one
# commit is pushed. A push that loses a race is retried on the new branch head.
# Needs runbook-checks on PATH. Reference: docs/reference/github.md.
set -euo pipefail
[ -d "${1:?usage: publish-records.sh DIR}" ] || { echo "no records to publish: $1 does not exist (the run uploaded none)"; exit 0; }
incoming=$(cd "$1" && pwd)
branch=${RECORDS_BRANCH:-runbook-results}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
head_of() { tail -n 1 "$1" | python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["hash"])'; }
shopt -s nullglob
ledgers=("$incoming"/*.jsonl)
[ ${#ledgers[@]} -gt 0 ] || { echo "no records to publish in $incoming"; exit 0; }
runbook-checks verify "${ledgers[@]}"
for attempt in 1 2 3 4 5; do
  git worktree remove --force "$work/tree" >/dev/null 2>&1 || true
  if git ls-remote --exit-code --heads origin "refs/heads/$branch" >/dev/null; then
    git fetch --quiet origin "refs/heads/$branch"
    git worktree add --quiet --detach "$work/tree" FETCH_HEAD
  else  # the first publication: a branch of its own, holding only ledgers
    git worktree add --quiet --detach "$work/tree" HEAD
    git branch -D "$branch" >/dev/null 2>&1 || true  # left by an earlier try whose push failed
    git -C "$work/tree" checkout --quiet --orphan "$branch"
    git -C "$work/tree" rm -rfq --cached . && find "$work/tree" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
  fi
  for ledger in "${ledgers[@]}"; do
    name=$(basename "$ledger")
    if [ -f "$work/tree/$name" ]; then
      if runbook-checks verify --anchor "$(head_of "$ledger")" "$work/tree/$name" >/dev/null 2>&1; then
        continue  # published already (a ledger this run only fetched, or published since)
      fi
      runbook-checks verify --anchor "$(head_of "$work/tree/$name")" "$ledger"  # the new chain must contain the published one
    fi
    cp "$ledger" "$work/tree/$name"
  done
  git -C "$work/tree" add -- '*.jsonl'
  if git -C "$work/tree" diff --cached --quiet; then
    echo "the records branch $branch already holds these records"; exit 0
  fi
  git -C "$work/tree" -c user.name="runbook-checks bot" -c user.email="runbook-checks-bot@users.noreply.github.com" \
    commit --quiet -m "runbook-results: ${GITHUB_WORKFLOW:-local} run ${GITHUB_RUN_ID:-?}"
  if git -C "$work/tree" push --quiet origin "HEAD:refs/heads/$branch"; then
    echo "published ${#ledgers[@]} ledger(s) to branch $branch"; exit 0
  fi
  echo "the records branch moved while publishing; trying again ($attempt)"
done
echo "::error::could not publish the records to branch $branch after 5 tries" >&2
exit 1
