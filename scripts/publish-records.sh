#!/usr/bin/env bash
# Publish the run records in DIR... (the ledgers the jobs of a workflow run extended: one
# folder, or one per downloaded artifact) to the records branch of origin (default
# runbook-results), in one commit: `runbook-checks merge` verifies every ledger, flat
# (<id>.jsonl) and per target (<id>/<target>.jsonl), and its published version, and refuses
# the lot when any fails or dropped published records (nothing published is ever dropped).
# A push that loses a race is retried on the new branch head.
# Needs runbook-checks on PATH. Reference: docs/reference/github.md, docs/reference/fleets.md.
set -euo pipefail
: "${1:?usage: publish-records.sh DIR...}"
incoming=()
for dir in "$@"; do
  [ -d "$dir" ] && incoming+=("$(cd "$dir" && pwd)")
done
[ ${#incoming[@]} -gt 0 ] || { echo "no records to publish: $* does not exist (the run uploaded none)"; exit 0; }
branch=${RECORDS_BRANCH:-runbook-results}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
if ! find "${incoming[@]}" -maxdepth 2 -name '*.jsonl' -print -quit | grep -q .; then
  echo "no records to publish in ${incoming[*]}"; exit 0
fi
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
  # one process: verify every chain, copy new ledgers, extend published ones, keep published
  # ones an artifact holds only a stale copy of; refuse (exit 1, nothing written) on any problem
  summary=$(runbook-checks merge "${incoming[@]}" --into "$work/tree")
  git -C "$work/tree" add -- '*.jsonl'
  if git -C "$work/tree" diff --cached --quiet; then
    echo "the records branch $branch already holds these records"; exit 0
  fi
  git -C "$work/tree" -c user.name="runbook-checks bot" -c user.email="runbook-checks-bot@users.noreply.github.com" \
    commit --quiet -m "runbook-results: ${GITHUB_WORKFLOW:-local} run ${GITHUB_RUN_ID:-?}"
  if git -C "$work/tree" push --quiet origin "HEAD:refs/heads/$branch"; then
    echo "published the records to branch $branch (${summary#*: })"; exit 0
  fi
  echo "the records branch moved while publishing; trying again ($attempt)"
done
echo "::error::could not publish the records to branch $branch after 5 tries" >&2
exit 1
