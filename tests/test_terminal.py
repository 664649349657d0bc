"""On a real terminal (a pty): the confirmation prompt, live progress and colour rules, and text from files and the environment shown, never acted on."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time

from .conftest import clean_env, fence, front
from .test_run import ledger

COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-7]|38;[25];[\d;]+|9[0-7])(?:;\d+)*m")


def run_in_pty(args: list[str], cwd, env: dict, typed: str | None = None, timeout: float = 60) -> tuple[int, str]:
    """Run the CLI with stdin/stdout/stderr on a pty; type ``typed`` when it prompts."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook_checks", *map(str, args)], cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the pty closed: the process is gone
                break
            if not data:
                break
            out += data
            if typed is not None and b"Type " in out:
                os.write(master, typed.encode() + b"\r")
                typed = None
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    return proc.returncode, out.decode("utf-8", "replace")


def runbook(write, tmp_path):
    body = fence("check-a", "check", "echo checking", 'criterion="A"') + fence("apply", "step", f"touch {tmp_path}/applied")
    return write(front(body))


def test_interactive_terminal_is_prompted_for_the_token(write, tmp_path):
    code, out = run_in_pty(["run", runbook(write, tmp_path), "--execute"], tmp_path, clean_env(TERM="xterm"), typed="GO-OK")
    assert code == 0, out
    assert "Type GO-OK to run the mutating steps of rb on test" in out
    assert (tmp_path / "applied").exists()


def test_a_wrong_typed_token_executes_nothing(write, tmp_path):
    code, out = run_in_pty(["run", runbook(write, tmp_path), "--execute"], tmp_path, clean_env(TERM="xterm"), typed="go-ok")
    assert code == 2 and "the letter case differs" in out
    assert not (tmp_path / "applied").exists() and ledger(tmp_path) == []


def test_ci_never_prompts_even_on_a_terminal(write, tmp_path):
    code, out = run_in_pty(["run", runbook(write, tmp_path), "--execute"], tmp_path, clean_env(TERM="xterm", CI="true"))
    assert code == 2 and "Type " not in out and "--execute needs the confirmation token" in out


def test_live_progress_is_coloured_unless_no_color(write, tmp_path):
    path = runbook(write, tmp_path)
    code, out = run_in_pty(["run", path], tmp_path, clean_env(TERM="xterm"))
    assert code == 0 and COLOUR.search(out), out
    assert "│ checking" in out and "✔ check-a passed" in out  # rich progress with the block's output
    code, out = run_in_pty(["run", path], tmp_path, clean_env(TERM="xterm", NO_COLOR="1"))
    assert code == 0 and not COLOUR.search(out) and "✔ check-a passed" in out


def test_lines_above_the_live_display_are_written_as_rich_writes_a_text_per_line():
    """``console._Lines`` gives the bytes rich's ``Text`` would for every line it holds
    (control codes stripped, tabs expanded by cells, several lines in one, wide characters,
    markup and emoji codes left as written), in colour and without, narrow or wide."""
    import io
    import random

    from rich.console import Console, Group
    from rich.text import Text

    from runbook_checks.console import _Lines

    samples = ["▶ b0 (check) rb.md:3", "  │ plain output", "", "  │ ", "x\ry\x07z\x08\x0b\x0cw", "tab\there", "  │ \t\tindented"]
    samples += ["multi\nline", "trailing\n", "\n", "wide 漢字 🎉 done", "\x1b[31mansi\x1b[0m", "a" * 300, "[bold]no markup[/bold] :smile:"]
    styles = ["", "bold", "dim", "green", "bold red", "yellow", "no-such-style", "bold on"]  # an unknown style: unstyled
    rng = random.Random(7)
    for color in ("truecolor", "standard", None):
        for width in (20, 80):
            for _ in range(100):
                lines = [(rng.choice(samples), rng.choice(styles)) for _ in range(rng.randint(1, 8))]
                texts, held = Console(file=io.StringIO(), force_terminal=color is not None, color_system=color, width=width), _Lines()
                texts.print(Group(*(Text(t, style=s, end="\n") for t, s in lines)), highlight=False, soft_wrap=True)
                mine = Console(file=io.StringIO(), force_terminal=color is not None, color_system=color, width=width)
                for text, style in lines:
                    held.add(text, style)
                mine.print(held, highlight=False, soft_wrap=True)
                assert mine.file.getvalue() == texts.file.getvalue(), (color, width, lines)


#: a login name that would retitle, recolour and clear the terminal of whoever reads a report
HOSTILE_ACTOR = "ev\x1b]0;pwned\x07il\x1b[31m\x1b[2J\rX\x7f\x9b2J"
SHOWN_ACTOR = "ev\\u001b]0;pwned\\u0007il\\u001b[31m\\u001b[2J\\u000dX\\u007f\\u009b2J"


def test_text_from_the_environment_a_ledger_or_a_runbook_never_acts_on_the_terminal(write, tmp_path, cli):
    path = write(front(fence("check-a", "check", "echo checking"), extra='title: "T\\e]0;pwned\\aitle"'))
    env = clean_env(TERM="xterm", LOGNAME=HOSTILE_ACTOR, USER=HOSTILE_ACTOR)
    code, out = run_in_pty(["run", path], tmp_path, env)
    assert code == 0 and COLOUR.search(out), out  # the run's own colours still act
    assert ledger(tmp_path)[0]["actor"] == HOSTILE_ACTOR  # recorded as it is
    for args in (["report", path], ["list", path]):
        code, out = run_in_pty(args, tmp_path, env)
        assert code == 0 and "\x1b]" not in out and "\x1b[2J" not in out and "\x07" not in out, (args, out)
    assert SHOWN_ACTOR in run_in_pty(["report", path], tmp_path, env)[1]
    assert "T\\u001b]0;pwned" in run_in_pty(["list", path], tmp_path, env)[1]
    piped = cli("report", path)
    assert (
        "by ev\\u001b]0;pwned\\u0007il" in piped.stdout and "\x1b" not in piped.stdout and "\r" not in piped.stdout
    )  # click drops CSI off a terminal
    assert json.loads(cli("report", path, "--format", "json").stdout)["attempt"]["actor"] == HOSTILE_ACTOR  # JSON escapes it
    missing = cli("verify", "gone\x1b]0;t\x07.jsonl")  # click's own error message, a path the user typed
    assert missing.returncode == 2 and "gone\\u001b]0;t\\u0007.jsonl: no such" in missing.stderr and "\x1b" not in missing.stderr


def test_a_kept_stream_shows_what_a_terminal_would_act_on_and_its_styled_side_writes_it():
    from runbook_checks.streams import KeptStream, visible

    out = io.StringIO()
    kept = KeptStream(out)
    text = "a\x1b[2Jb\tc\n\x00\x08\x7f\x9b\u200bé\u202egnp.exe\u2066\u2069\u200f\u061c\u05d0"
    assert kept.write(text) == len(text)
    assert (
        out.getvalue()
        == visible(text)
        == "a\\u001b[2Jb\tc\n\\u0000\\u0008\\u007f\\u009b\u200bé\\u202egnp.exe\\u2066\\u2069\\u200f\\u061c\u05d0"
    )
    assert kept.styled.write("\x1b[1m") == 4 and out.getvalue().endswith("\x1b[1m")
    assert kept.styled.isatty() is False and kept.styled.lost is None


def test_a_mask_registers_the_secrets_very_text_and_an_annotation_shows_its_controls():
    from runbook_checks import github
    from runbook_checks.streams import KeptStream

    out = io.StringIO()
    secret = "pass\x7fword\x1bxyz\x85"
    github.emit([github.command("add-mask", secret), github.command("error", "at \x1b[31m", file="rb\x1b.md")], KeptStream(out))
    assert out.getvalue() == f"::add-mask::{secret}\n::error file=rb\\u001b.md::at \\u001b[31m\n"


def test_an_ascii_locale_gets_escapes_not_a_traceback_and_is_still_escaped(write, tmp_path, cli):
    path = write(front(fence("check-a", "check", "echo checking")))
    env = clean_env(PYTHONIOENCODING="ascii", LOGNAME=HOSTILE_ACTOR, USER=HOSTILE_ACTOR)
    ran = cli("run", path, env=env)
    assert ran.returncode == 0 and "Traceback" not in ran.stderr and "\\u2714 check-a passed" in ran.stdout, ran
    code, out = run_in_pty(["report", path], tmp_path, env)
    assert code == 0 and SHOWN_ACTOR in out and "\\u2705" in out and "\x1b]" not in out, out
