"""Gates that refuse a run before anything executes: other runbooks' migrations it
requires, the confirmation token, its secrets. Each refusal is a ``GateRefused`` (exit 2)
that says what to do next and that nothing was executed. (The run lock is ``lock``.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from .context import fingerprints, runbook_env
from .errors import GateRefused
from .evidence import Attempt, Attempts
from .ledger import ledger_path, verified_records
from .ledger.paths import target_ledger_path
from .model import Requirement, Runbook, RunRecord
from .parse import parse_runbook
from .parse.keys import CANARY
from .redact import Redactor, non_utf8
from .status import EvidenceStatus, Mode
from .target import named, resolve, variable


def check_requirements(runbook: Runbook, results_dir: Path, environ: Mapping[str, str]) -> None:
    """Raises ``GateRefused`` (exit 2) with the first of ``requirement_problems``; returns
    when every requirement is met. ``results_dir``: the folder of the required runbooks' ledgers."""
    problems = requirement_problems(runbook, results_dir, environ)
    if problems:
        raise GateRefused(f"{runbook.path}: runbook {runbook.id!r} {problems[0]} Nothing was executed.")


def requirement_problems(runbook: Runbook, results_dir: Path, environ: Mapping[str, str]) -> list[str]:
    """``runbook.requires``: what ``--execute`` needs of other runbooks' migrations; returns
    why the gate is closed (one sentence per unmet requirement, saying what to run next),
    empty when it is open. Reads files only: the site asks it too.

    For each requirement, the required runbook's ledger must verify, record schema
    included (a bad line refuses, naming ``path:N``), and by the evidence policy
    (the ``evidence`` package) its environment's ``--execute`` attempts must show:

    - a latest attempt whose fingerprints of the ``same`` paths equal the current
      content, with the verdict ``passed`` (every step and criterion passed, one target
      and one content over all its runs);
    - no later ``--execute`` attempt that did not pass (failed, interrupted, incomplete);
    - when this runbook names a ``target``: its own target is a database URL, and the
      passing attempt recorded one target digest, different from this runbook's (a
      staging pass against the production database proves nothing).

    Without the target's secret in ``environ`` (a site build), the target rules are not checked.
    In a fleet run the ledgers read are the counterpart's or the canaries' (``_required_ledgers``).
    """
    current = fingerprints(runbook)
    here = (resolve(runbook.target, runbook_env(runbook, environ, runbook.environment)) or {}).get("digest")
    problems: list[str] = []
    for req, path, target in _required_ledgers(runbook, results_dir, problems):
        problem = _requirement_problem(runbook, req, path, target, current, here, environ)
        if problem is not None:
            problems.append(problem)
    return problems


def _attempts_for(
    records: Sequence[RunRecord], req: Requirement, current: Mapping[str, str]
) -> tuple[Attempt | None, Attempt | None, Attempt | None]:
    """``(newest, later, latest)`` of the required environment's ``--execute`` attempts:
    the newest; the newest that did not pass, after ``latest``; the newest for the
    ``current`` content (fingerprints) of the ``same`` paths. Newest first: reads only as
    far back as it must."""
    newest = later = None
    for a in Attempts(records).newest(req.environment, Mode.EXECUTE):
        newest = newest or a
        if all(a.fingerprints.get(p) == current.get(p) for p in req.same):
            return newest, later, a
        if later is None and a.verdict != EvidenceStatus.PASSED:
            later = a
    return newest, later, None


def _requirement_problem(
    runbook: Runbook,
    req: Requirement,
    path: Path,
    target: str | None,
    current: Mapping[str, str],
    here: str | None,
    environ: Mapping[str, str],
) -> str | None:
    """Why one requirement (its ledger ``path``, for ``target`` of a fleet or ``None``) is
    unmet, by the rules of ``requirement_problems``; ``None`` when it is met. ``current``:
    this runbook's fingerprints; ``here``: its target's digest (``None``: no database URL)."""
    what = f"runbook {req.runbook!r}" + (f" target {target!r}" if target else "") + (f" ({req.environment})" if req.environment else "")
    on = f" --target {target}" if target else ""
    todo = f"runbook-checks run {req.path} --execute{on} --confirm <token>" if req.path else f"the {req.runbook} runbook with --execute{on}"
    prefix = f"requires a passing migration of {what} first"
    records, verification = verified_records(path, validate_schema=True)
    if verification is not None and not verification.ok:
        return (
            f"{prefix}, but its ledger fails verification at {verification.path}:{verification.bad_line}: {verification.problem}. "
            f"Run 'runbook-checks verify {path}', restore the ledger from its published copy, then try again."
        )
    newest, later, latest = _attempts_for(records, req, current)
    if latest is None:
        content = ", ".join(f"{p} {current.get(p, '?')[:12]}" for p in req.same)
        why = (
            f"its latest --execute attempt ({newest.id}) was for different content of {', '.join(req.same)}; current: {content}"
            if newest
            else f"{path} holds no --execute attempt of it"
        )
        return f"{prefix}: {why}. Run {todo} (same --results), then try again."
    if latest.verdict != EvidenceStatus.PASSED:
        return (
            f"{prefix}: its latest --execute attempt for the current {', '.join(req.same) or 'content'} ({latest.id}) did not pass "
            f"(verdict: {latest.verdict}). Fix it and run {todo}, then try again."
        )
    if later is not None:
        return f"{prefix}: its --execute attempt {later.id} ({later.verdict}) came after the last pass {latest.id}. Fix it and run {todo}, then try again."
    if runbook.target and here is None and environ.get(variable(runbook.target) or ""):
        return (
            f"{prefix}, and this runbook's target ({runbook.target}) is not a database URL, so the gate cannot tell it from "
            f"{what}'s. Use a postgresql://host:port/database URL, then try again."
        )
    if here is not None and latest.target_digest is None:
        return (
            f"{prefix}: its passing attempt {latest.id} recorded no single target digest (its runbook declares no 'target', or "
            f"its runs named other databases), so nothing shows it ran on another database than this one. Run {todo}, then try again."
        )
    if here is not None and latest.target_digest == here:
        return (
            f"{prefix}: its passing attempt {latest.id} ran against the very database this runbook targets "
            f"(target digest {here[:12]}), so it proves nothing. Point {what}'s secret at its own database and run {todo}, then try again."
        )
    return None


def _required_ledgers(runbook: Runbook, results_dir: Path, problems: list[str]) -> list[tuple[Requirement, Path, str | None]]:
    """``(requirement, ledger, target name)`` for each ledger the ``requires`` gate reads. A
    runbook with no selected target reads each required runbook's ledger; so does a fleet
    run (``targets.select``) whose required runbook, read from the requirement's ``path``
    (relative to the project root), declares no targets. Otherwise a fleet run reads the
    required runbook's target of the same name, or with ``target: canary`` each wave-0
    target of that runbook. A canary that cannot be found is a sentence in ``problems``."""
    out: list[tuple[Requirement, Path, str | None]] = []
    for req in runbook.requires:
        required, found = parse_runbook(runbook.root / req.path, display=req.path) if runbook.selected and req.path else (None, [])
        if runbook.selected is None or (required is not None and not found and not required.targets):
            out.append((req, ledger_path(results_dir, req.runbook), None))  # one database: its one ledger
        elif req.target != CANARY:
            out.append((req, target_ledger_path(results_dir, req.runbook, runbook.selected.name), runbook.selected.name))
        else:
            canaries = [t.name for t in (required.targets if required is not None and not found else ()) if t.wave == 0]
            if not canaries:
                why = f"it cannot be read ({found[0]})" if found else "it declares no target in wave 0"
                problems.append(
                    f"requires a passing migration of the canary of runbook {req.runbook!r} ({req.path}) first, but {why}. "
                    "Give that runbook a target with 'labels: {wave: 0}', then try again."
                )
            out += [(req, target_ledger_path(results_dir, req.runbook, name), name) for name in canaries]
    return out


def target_named(runbook: Runbook, environ: Mapping[str, str]) -> str | None:
    """The database the runbook's steps would change, as ``target.named`` words it (host,
    port, database; never the password), or ``None`` when it names none or it is unset."""
    text = named(runbook.target, runbook_env(runbook, environ, runbook.environment)) if runbook.target else None
    return Redactor.for_secrets(runbook.secrets, environ)(text) if text else None  # a database named like a secret stays masked


def check_confirmation(runbook: Runbook, token: str | None, environ: Mapping[str, str] | None = None) -> None:
    """Steps run only when ``token`` equals the runbook's ``confirm`` byte for byte (the
    source workflow's typed ``DIXIS-STAGING-OK`` gate). A refusal names the target database
    when ``environ`` sets it (``target_named``). Raises ``GateRefused`` (exit 2) when the
    runbook declares no token, none was given, or it differs (saying how: whitespace,
    letter case, another word)."""
    where = f"{runbook.path}: runbook {runbook.id!r}"
    if runbook.confirm is None:
        raise GateRefused(f"{where} declares no 'runbook.confirm' token, so its steps cannot run. Nothing was executed.")
    expected = runbook.confirm
    target = target_named(runbook, environ) if environ is not None else None
    on = f" on {target}" if target else ""
    if token is None:
        raise GateRefused(
            f"{where}: --execute needs the confirmation token. Run again with --confirm {expected}. Nothing was executed{on}."
        )
    if token.encode("utf-8", "surrogatepass") != expected.encode("utf-8"):
        if token.strip() == expected:
            why = "it has extra whitespace"
        elif token.lower() == expected.lower():
            why = "the letter case differs"
        else:
            why = "it is a different word"
        raise GateRefused(f"{where}: the confirmation token does not match ({why}); type exactly {expected}. Nothing was executed{on}.")


def missing_secrets(runbook: Runbook, environ: Mapping[str, str]) -> list[str]:
    """The runbook's declared ``secrets`` that ``environ`` leaves unset or blank, in declaration order."""
    return [name for name in runbook.secrets if not environ.get(name, "").strip()]


def check_secrets(runbook: Runbook, environ: Mapping[str, str], *, missing_ok: bool = False) -> None:
    """Every declared secret must be set (and non-empty) before anything executes, and be
    valid UTF-8: the shapes programs print other bytes in cannot all be known, so such a
    value could not be promised to be masked. ``missing_ok`` (a dry run): only the second.
    Raises ``GateRefused``."""
    missing = missing_secrets(runbook, environ)
    if missing and not missing_ok:
        names = ", ".join(missing)
        raise GateRefused(
            f"{runbook.path}: runbook {runbook.id!r} needs the secret(s) {names}, which are not set. "
            f"Export {missing[0]} (in GitHub Actions, add it as a repository or environment secret). Nothing was executed."
        )
    check_secret_encoding(runbook, environ)


def check_secret_encoding(runbook: Runbook, environ: Mapping[str, str]) -> None:
    """Raise ``GateRefused`` when a declared secret that is set is not valid UTF-8 (see
    ``check_secrets``): the CLI and the pytest plugin refuse such a value alike."""
    undecodable = [name for name in runbook.secrets if non_utf8(environ.get(name, ""))]
    if undecodable:
        raise GateRefused(
            f"{runbook.path}: runbook {runbook.id!r}: the value of the secret {undecodable[0]} is not valid UTF-8, so it cannot be "
            f"masked in every shape a program may print it. Store it as UTF-8 (inside a database URL, percent-encode its bytes). "
            f"Nothing was executed."
        )
