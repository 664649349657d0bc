"""Where and by whom a run happens: the project root, time, git, CI, the actor, fingerprints.

Everything a record states about its surroundings is read here, once, from the
filesystem, the clock and the environment passed in (never ``os.environ`` directly).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import secrets
import shutil
import subprocess
import sysconfig
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Runbook

#: the GitHub Actions default variables a record's ``ci`` keeps (GitHub's "Default environment
#: variables"), lower-cased without the ``GITHUB_`` prefix
GITHUB_CONTEXT = (
    "GITHUB_ACTOR",
    "GITHUB_REPOSITORY",
    "GITHUB_WORKFLOW",
    "GITHUB_JOB",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_NUMBER",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_EVENT_NAME",
    "GITHUB_REF",
    "GITHUB_SHA",
    "GITHUB_SERVER_URL",
)


def find_root(start: Path) -> Path:
    """The project root for ``start``: the nearest folder at or above it holding ``.git``
    (the repository root), else one holding ``mkdocs.yml`` (the site's root), else
    ``start`` itself (resolved). Workdirs and the default results folder are relative to it."""
    start = start.resolve()
    for marker in (".git", "mkdocs.yml"):
        for d in (start, *start.parents):
            if (d / marker).exists():
                return d
    return start


def sha256_text(text: str | bytes) -> str:
    """The SHA-256 hex digest of ``text`` (UTF-8 encoded when a ``str``)."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def utc_now() -> str:
    """Now as recorded: ISO 8601 UTC with milliseconds and ``Z``, e.g. ``2026-11-30T12:00:00.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utf8(text: str) -> str:
    """``text`` as a record can hold it (UTF-8): bytes of a name or variable that were not
    UTF-8, which Python keeps as lone surrogates (PEP 383), written as escapes, ``\\xff``."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no byte became
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def host_name() -> str:
    """This machine's name, as recorded (a run's ``host``, a lock's holder): the kernel's
    node name, which is what ``gethostname`` returns, without importing ``socket``."""
    return utf8(os.uname().nodename)


def new_run_id() -> str:
    """A new run id: the UTC time to the second and 6 random hex digits, e.g. ``20261130T120000Z-1a2b3c``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def git_info(root: Path) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` for the repository at ``root`` (tracked files only
    count as dirty), or ``None`` when ``root`` has no ``.git`` or git cannot answer in time."""
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, timeout=10)
        # bytes: git may name a changed file as it is (core.quotePath=false), in bytes that are not UTF-8
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return {"commit": commit.stdout.decode("ascii", "replace").strip(), "dirty": bool(status.stdout.strip())}


def ci_context(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The record's ``ci``: ``{"provider": "github-actions", ...GITHUB_CONTEXT, "run_url"}`` in a
    GitHub job, ``{"provider": "generic"}`` where only ``CI`` is set, else ``None``."""
    github = {k[len("GITHUB_") :].lower(): utf8(environ[k]) for k in GITHUB_CONTEXT if environ.get(k)}
    if github.get("server_url") and github.get("repository") and github.get("run_id"):
        github["run_url"] = f"{github['server_url']}/{github['repository']}/actions/runs/{github['run_id']}"
    if github:
        return {"provider": "github-actions", **github}
    if environ.get("CI"):
        return {"provider": "generic"}
    return None


def actor(environ: Mapping[str, str]) -> str:
    """Who runs: ``GITHUB_ACTOR`` in a GitHub job, else the login name, else ``"unknown"`` (``utf8``)."""
    if environ.get("GITHUB_ACTOR"):
        return utf8(environ["GITHUB_ACTOR"])
    try:
        return utf8(getpass.getuser())
    except (KeyError, OSError):
        return "unknown"


def fingerprint(path: Path) -> str:
    """SHA-256 hex over the relative names and contents of a file or of every file under a directory."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        name = f.relative_to(path).as_posix() if path.is_dir() else f.name
        # the name's own bytes: a name that is not UTF-8 (kept as lone surrogates, PEP 383) is fingerprinted as it is
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(f.read_bytes()).digest())
    return digest.hexdigest()


def fingerprints(runbook: Runbook) -> dict[str, str]:
    """``{path: fingerprint}`` for each of the runbook's ``fingerprint`` paths (relative to its
    workdir) that exists; a path that does not exist is left out."""
    return {p: fingerprint(runbook.workdir / p) for p in runbook.fingerprint if (runbook.workdir / p).exists()}


def runbook_env(runbook: Runbook, environ: Mapping[str, str], environment: str) -> dict[str, str]:
    """The environment shared by every block: the caller's, the runbook's variables
    (``RUNBOOK_ID``, ``RUNBOOK_ENVIRONMENT``, ``RUNBOOK_WORKDIR``, ``RUNBOOK_PATH``: the
    runbook file, absolute; with a selected target, ``RUNBOOK_TARGET``: its name and
    ``RUNBOOK_TARGET_URL``: the value of its secret), ``env``. The folder of the running ``runbook-checks`` (and of
    ``squawk``) ends ``PATH`` when it is not on it, so a block can call ``runbook-checks``
    however this run was started (``.venv/bin/runbook-checks``, ``python -m``)."""
    env = dict(environ)
    env.update(
        RUNBOOK_ID=runbook.id,
        RUNBOOK_ENVIRONMENT=environment,
        RUNBOOK_WORKDIR=str(runbook.workdir),
        RUNBOOK_PATH=str(runbook.path.resolve()),
    )
    if runbook.selected is not None:  # a fleet run: the selected target's name and URL (its secret, so masked)
        env.update(RUNBOOK_TARGET=runbook.selected.name, RUNBOOK_TARGET_URL=environ.get(runbook.selected.secret, ""))
    scripts = sysconfig.get_path("scripts")
    if not shutil.which("runbook-checks", path=env.get("PATH")) and scripts and Path(scripts, "runbook-checks").exists():
        env["PATH"] = os.pathsep.join(p for p in (env.get("PATH"), scripts) if p)  # blocks can call runbook-checks (and squawk) itself
    for name, value in runbook.env:
        env[name] = Template(value).safe_substitute(env)
    return env
