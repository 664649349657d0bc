"""The fleet workflow's matrix simulated at scale, here: fleet-migration.yml dispatched on a
fleet of N tenant databases in one throwaway PostgreSQL 15 cluster.

What a dispatch does, in order, each part replayed with ``test_workflow_replay.replay`` (a
job's steps as a runner runs them, with the variables and files it provides):

1. the staging pass the fleet runbook ``requires``: staging-migration.yml against one more
   database of the cluster, its records published to the origin's records branch;
2. the plan job, for real: ``runbook-checks targets`` prints the waves and one matrix per wave;
3. each wave job (canary, wave-1 … wave-3) when the workflow would start it (its matrix is
   not empty, no job it needs failed): fleet-wave.yml's job once per matrix entry, at most
   two at a time (``max-parallel`` on this two-core machine), each job a process tree of its
   own in its own clone of the repository (``GITHUB_WORKSPACE``, ``RUNNER_TEMP``,
   ``GITHUB_OUTPUT`` of its own; the target's secret set on the action step only), its
   artifact laid out as ``actions/upload-artifact`` keeps it;
4. the fan-in: publish.yml's ``records`` job, the artifacts laid out as
   ``actions/download-artifact`` downloads them, ``scripts/publish-records.sh`` pushing every
   target's ledger to the records branch in one commit.

Not simulated: ``replay`` stops a job at its first failed step, as a runner does for steps
without ``if: always()``, so a failed job's collect and upload steps (``if: always()``) do not
run here, and a failed target's record is not fanned in as it would be on GitHub.

The matrix phase's wall time and each job's are measured and printed (``-s``), never
asserted; ``bench/bench_matrix.py`` runs the same simulation for 100 targets. The fleet's
size is ``FLEET_MATRIX_TARGETS`` (default 20) and the timings go, as JSON, to the file
``FLEET_MATRIX_TIMINGS`` names: the bench's knobs, not the suite's.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import yaml

from runbook_checks.sandbox import postgres

from .conftest import clean_env
from .test_fleet_workflow import outputs as plain_outputs
from .test_prisma import MIGRATIONS, app_installed  # noqa: F401  (the app's packages, installed once)
from .test_workflow_replay import git, replay, workspace  # noqa: F401  (the staging job's checkout, a bare origin behind it)

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
FLEET_ID = "db-migration-tenants"
FLEET_MD = "docs/OPS/FLEET/DB-MIGRATION-TENANTS.md"
WAVE_JOBS = ("canary", "wave-1", "wave-2", "wave-3")
#: runners at once: this machine's two cores (a wave's own max-parallel caps it further)
RUNNERS = 2
BIN = str(Path(sys.executable).parent)


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def psql(url: str, *commands: str) -> str:
    args = [a for c in commands for a in ("-c", c)]
    return subprocess.run(["psql", url, "-tAq", *args], check=True, capture_output=True, text=True).stdout.strip()


def database_url(cluster_url: str, name: str) -> str:
    """The URL of database ``name`` of the cluster ``cluster_url`` belongs to."""
    return cluster_url.rsplit("/", 1)[0] + "/" + name


def tenants(n: int) -> list[dict]:
    """``n`` tenants: the first the canary (wave 0), the others spread over waves 1, 2, 3."""
    out = []
    for i in range(n):
        wave = 0 if i == 0 else 1 + (i - 1) * 3 // max(n - 1, 1)
        out.append(
            {
                "name": f"tenant-{i:03d}",
                "secret": f"DATABASE_URL_TENANT_{i:03d}",
                "labels": {"wave": wave, "region": "eu" if i % 2 else "us"},
            }
        )
    return out


def add_fleet(workspace: Path, fleet: list[dict]) -> None:
    """The example fleet runbook with ``fleet`` as its tenants.yml, committed and pushed to
    origin's main: the checkout of every job of the dispatch."""
    folder = workspace / "docs" / "OPS" / "FLEET"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / FLEET_MD, folder / Path(FLEET_MD).name)
    (folder / "tenants.yml").write_text(yaml.safe_dump(fleet, sort_keys=False))
    git(workspace, "add", "docs/OPS/FLEET")
    git(workspace, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", f"fleet of {len(fleet)} tenants")
    git(workspace, "push", "-q", "origin", "HEAD:main")


def failed_steps(steps: list) -> list:
    return [(name, proc.stdout[-1500:] + proc.stderr[-1500:]) for name, proc, _ in steps if proc.returncode != 0]


def staging_pass(workspace: Path, url: str) -> None:
    """staging-migration.yml's migrate job on ``url``, then its records published (what its
    publish job does with the uploaded ledger): the evidence the fleet's requires gate reads."""
    steps = replay("staging-migration.yml", "migrate", workspace, {"DATABASE_URL_STAGING": url}, {"confirm": "DIXIS-STAGING-OK"})
    assert not failed_steps(steps), failed_steps(steps)
    published = subprocess.run(
        ["bash", "scripts/publish-records.sh", "runbook-results"],
        cwd=workspace,
        env=clean_env(PATH=f"{BIN}:{os.environ['PATH']}"),
        capture_output=True,
        text=True,
    )
    assert published.returncode == 0, published.stdout + published.stderr


def checkout(origin: Path, into: Path) -> Path:
    """A job's ``actions/checkout``: a clone of origin's main at ``into/workspace``."""
    into.mkdir(parents=True)
    git(into, "clone", "-q", str(origin), "workspace")
    return into / "workspace"


def plan(origin: Path, tmp: Path, confirm: str) -> dict[str, str]:
    """fleet-migration.yml's plan job replayed in a checkout of its own; returns the job's
    outputs (``jobs.plan.outputs`` over the wf env and the plan step's $GITHUB_OUTPUT)."""
    wf = load("fleet-migration.yml")
    clone = checkout(origin, tmp / "plan")
    steps = replay("fleet-migration.yml", "plan", clone, {}, {"confirm": confirm})
    assert not failed_steps(steps), failed_steps(steps)
    index = next(i for i, s in enumerate(wf["jobs"]["plan"]["steps"]) if s.get("id") == "plan")
    contexts = {
        "env": {k: str(v) for k, v in wf["env"].items()},
        "steps.plan.outputs": plain_outputs(clone.parent / "runner" / f"output-{index}"),
    }
    return {name: resolve(value, contexts) for name, value in wf["jobs"]["plan"]["outputs"].items()}


def resolve(value: object, contexts: dict[str, dict[str, str]]) -> str:
    """``${{ a.b.c }}`` expressions of ``value`` from ``contexts`` (``{"a.b": {"c": …}}``); unknown names are ''."""
    return re.sub(r"\$\{\{\s*([\w.-]+?)\.([\w-]+)\s*\}\}", lambda m: contexts.get(m.group(1), {}).get(m.group(2), ""), str(value))


def matrix_job_workflow(entry: dict, into: Path) -> Path:
    """fleet-wave.yml as the runner sees it for one matrix entry: ``matrix.*`` substituted, and
    ``secrets[matrix.secret]`` the secret that entry names (written to ``into``)."""
    text = (WORKFLOWS / "fleet-wave.yml").read_text().replace("secrets[matrix.secret]", f"secrets.{entry['secret']}")
    for key, value in entry.items():
        text = re.sub(r"\$\{\{\s*matrix\." + re.escape(key) + r"\s*\}\}", str(value), text)
    path = into / "fleet-wave.yml"
    path.write_text(text)
    return path


@dataclass
class Job:
    """One matrix job: its target, whether every step passed, its wall seconds, its artifact."""

    target: str
    ok: bool
    seconds: float
    failed: list = field(default_factory=list)
    artifact: tuple[str, Path] | None = None


def matrix_job(origin: Path, jobs: Path, entry: dict, *, inputs: dict[str, str], urls: dict[str, str]) -> Job:
    """fleet-wave.yml's migrate job for ``entry``, replayed in a checkout of its own; the
    target's URL is known only as the secret its entry names."""
    start = time.monotonic()
    clone = checkout(origin, jobs / entry["target"])
    workflow = matrix_job_workflow(entry, clone.parent)
    steps = replay(str(workflow), "migrate", clone, {entry["secret"]: urls[entry["target"]]}, inputs)
    upload = next(
        s
        for s in yaml.safe_load(workflow.read_text())["jobs"]["migrate"]["steps"]
        if s.get("uses", "").startswith("actions/upload-artifact@")
    )
    content = clone / upload["with"]["path"]
    artifact = (upload["with"]["name"], content) if content.is_dir() and any(content.rglob("*")) else None
    failed = failed_steps(steps)
    return Job(entry["target"], not failed, time.monotonic() - start, failed, artifact)


@dataclass
class Dispatch:
    """What a dispatch of fleet-migration.yml did: each wave job's result and matrix jobs."""

    results: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, list[Job]] = field(default_factory=dict)
    #: wall seconds from the first wave's start to the last one's end
    matrix_s: float = 0.0
    #: wall seconds of the fan-in (publish.yml's records job)
    fanin_s: float = 0.0


def dispatch(origin: Path, tmp: Path, urls: dict[str, str], confirm: str = "DIXIS-TENANTS-OK") -> Dispatch:
    """The plan job, then each wave job of fleet-migration.yml in order, as the workflow's
    ``needs`` and ``if`` decide: skipped when its matrix is empty or a job it needs failed."""
    wf = load("fleet-migration.yml")
    planned = plan(origin, tmp, confirm)
    done = Dispatch(results={"plan": "success"})
    start = time.monotonic()
    for name in WAVE_JOBS:
        job = wf["jobs"][name]
        needs = [job["needs"]] if isinstance(job["needs"], str) else job["needs"]
        inputs = {k: resolve(v, {"needs.plan.outputs": planned, "inputs": {"confirm": confirm}}) for k, v in job["with"].items()}
        if not inputs["matrix"] or any(done.results[n] == "failure" for n in needs):
            done.results[name] = "skipped"
            continue
        entries = json.loads(inputs["matrix"])["include"]
        with ThreadPoolExecutor(max_workers=min(int(inputs["max-parallel"]), RUNNERS)) as pool:  # fail-fast off: every entry runs
            ran = list(pool.map(partial(matrix_job, origin, tmp / "jobs", inputs=inputs, urls=urls), entries))
        done.jobs[name] = ran
        done.results[name] = "success" if all(j.ok for j in ran) else "failure"
    done.matrix_s = time.monotonic() - start
    return done


def publish(origin: Path, tmp: Path, artifacts: list[tuple[str, Path]]) -> list:
    """publish.yml's records job in a checkout of its own, after its download step has laid out
    ``artifacts`` (name, content folder) as actions/download-artifact does: matching its
    ``pattern``, under its ``path``, one folder per artifact unless ``merge-multiple``."""
    clone = checkout(origin, tmp / "publish")
    steps = load("publish.yml")["jobs"]["records"]["steps"]
    download = next(s["with"] for s in steps if s.get("uses", "").startswith("actions/download-artifact@"))
    for name, content in artifacts:
        if fnmatch.fnmatchcase(name, download["pattern"]):
            dest = clone / download["path"] / ("" if download.get("merge-multiple") else name)
            shutil.copytree(content, dest, dirs_exist_ok=True)
    return replay("publish.yml", "records", clone, {}, {})


def published(origin: Path, into: Path) -> Path:
    """The records branch of ``origin``, extracted into ``into``."""
    into.mkdir()
    archive = subprocess.run(["git", "--git-dir", str(origin), "archive", "runbook-results"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def timings(n: int, done: Dispatch) -> dict:
    """The measured wall times (seconds), printed with -s and written where FLEET_MATRIX_TIMINGS says."""
    jobs = [j for ran in done.jobs.values() for j in ran]
    canary = done.jobs["canary"][0].seconds  # the canary wave runs alone: one target's time on an idle machine
    figures = {
        "targets": n,
        "runners": RUNNERS,
        "matrix_s": round(done.matrix_s, 2),
        "canary_s": round(canary, 2),
        "jobs_s": {j.target: round(j.seconds, 2) for j in jobs},
        "ratio": round(done.matrix_s / (n * canary / RUNNERS), 3),
        "fanin_s": round(done.fanin_s, 2),
    }
    print(
        f"\nfleet matrix: {n} targets, {RUNNERS} runners: {done.matrix_s:.1f} s; one target alone {canary:.1f} s; ratio {figures['ratio']}"
    )
    if os.environ.get("FLEET_MATRIX_TIMINGS"):
        Path(os.environ["FLEET_MATRIX_TIMINGS"]).write_text(json.dumps(figures, indent=2))
    return figures


def test_the_fleet_matrix_migrates_every_tenant_wave_by_wave_and_fans_in(workspace, tmp_path):
    n = int(os.environ.get("FLEET_MATRIX_TARGETS", "20"))
    fleet = tenants(n)
    origin = tmp_path / "origin.git"
    with postgres(database="dixis_staging") as db:
        psql(db.url, *(f"CREATE DATABASE {t['name'].replace('-', '_')}" for t in fleet))
        urls = {t["name"]: database_url(db.url, t["name"].replace("-", "_")) for t in fleet}
        add_fleet(workspace, fleet)
        staging_pass(workspace, db.url)
        done = dispatch(origin, tmp_path, urls)
        applied = {name: psql(url, "SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL") for name, url in urls.items()}
    problems = {j.target: j.failed for ran in done.jobs.values() for j in ran if not j.ok}
    assert not problems, problems
    assert done.results == {"plan": "success", **dict.fromkeys(WAVE_JOBS, "success")}
    assert [[j.target for j in done.jobs[w]] for w in WAVE_JOBS] == [
        [t["name"] for t in fleet if t["labels"]["wave"] == w] for w in range(4)
    ]
    assert applied == dict.fromkeys(urls, str(len(MIGRATIONS)))  # every database, every migration
    artifacts = [j.artifact for ran in done.jobs.values() for j in ran]
    assert all(artifacts) and len({name for name, _ in artifacts}) == n
    for name, content in artifacts:  # each artifact: its target's ledger, one passed --execute run, the secret nowhere
        [ledger] = content.rglob("*.jsonl")
        assert ledger.relative_to(content).as_posix() == f"{FLEET_ID}/{name.removeprefix('runbook-results-')}.jsonl"
        [record] = [json.loads(line) for line in ledger.read_text().splitlines()]
        assert (record["mode"], record["status"], record["attempt_id"]) == ("execute", "passed", "github-100-1")
        assert record["target"]["name"] == ledger.stem and record["target"]["from"].startswith("DATABASE_URL_TENANT_")
        assert urls[ledger.stem].split("@")[0].rsplit(":", 1)[1] not in ledger.read_text()  # the password
    start = time.monotonic()
    steps = publish(origin, tmp_path, artifacts)  # the fan-in: every job's artifact, one commit
    done.fanin_s = time.monotonic() - start
    assert not failed_steps(steps), failed_steps(steps)
    assert len(git(origin, "rev-list", "runbook-results").split()) == 2  # the staging publication, then the fleet's one commit
    records = published(origin, tmp_path / "published")
    assert sorted(p.stem for p in (records / FLEET_ID).glob("*.jsonl")) == sorted(urls)
    env = clean_env(PATH=f"{BIN}:{os.environ['PATH']}")
    verify = subprocess.run(["runbook-checks", "verify", str(records)], env=env, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    report = subprocess.run(
        ["runbook-checks", "report", FLEET_MD, "--fleet", "--format", "json", "--results", str(records)],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
    )
    assert report.returncode == 0, report.stderr
    view = json.loads(report.stdout)
    assert sorted(r["target"] for r in view["rows"]) == sorted(urls) and view["counts"] == {"passed": n}
    assert {(r["verdict"], r["mode"], r["attempt"], r["pending"]) for r in view["rows"]} == {
        ("passed", "execute", "github-100-1", len(MIGRATIONS))
    }
    timings(n, done)


def test_a_failed_wave_stops_the_later_waves_and_not_its_own_targets(workspace, tmp_path):
    fleet = [
        {"name": "tenant-a", "secret": "DATABASE_URL_TENANT_A", "labels": {"wave": 0}},
        {"name": "tenant-b", "secret": "DATABASE_URL_TENANT_B", "labels": {"wave": 1}},
        {"name": "tenant-c", "secret": "DATABASE_URL_TENANT_C", "labels": {"wave": 1}},
        {"name": "tenant-d", "secret": "DATABASE_URL_TENANT_D", "labels": {"wave": 2}},
    ]
    with postgres(database="dixis_staging") as db:
        psql(db.url, "CREATE DATABASE tenant_a", "CREATE DATABASE tenant_c", "CREATE DATABASE tenant_d")
        urls = {t["name"]: database_url(db.url, t["name"].replace("-", "_")) for t in fleet}
        urls["tenant-b"] = database_url(db.url, "tenant_b_gone")  # its secret names a database that does not exist
        add_fleet(workspace, fleet)
        staging_pass(workspace, db.url)
        done = dispatch(tmp_path / "origin.git", tmp_path, urls)
        tables = {
            name: psql(urls[name], "SELECT to_regclass('_prisma_migrations') IS NOT NULL") for name in ("tenant-a", "tenant-c", "tenant-d")
        }
    assert done.results == {"plan": "success", "canary": "success", "wave-1": "failure", "wave-2": "skipped", "wave-3": "skipped"}
    wave = {j.target: j for j in done.jobs["wave-1"]}
    assert wave["tenant-c"].ok  # fail-fast is off: the broken target does not cancel its wave's others
    [(step, output)] = wave["tenant-b"].failed
    assert step == "Migrate tenant-b" and "block 'list-pending' failed" in output  # before its deploy step
    ledger = tmp_path / "jobs" / "tenant-b" / "workspace" / "runbook-results" / FLEET_ID / "tenant-b.jsonl"
    [record] = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert record["status"] == "failed" and {b["id"]: b["status"] for b in record["blocks"]}["migrate-deploy"] == "not-run"
    assert tables == {"tenant-a": "t", "tenant-c": "t", "tenant-d": "f"}  # wave 2 never started
    assert "wave-2" not in done.jobs and not (tmp_path / "jobs" / "tenant-d").exists()
