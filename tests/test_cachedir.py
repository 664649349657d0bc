"""The user cache (runbook_checks.cachedir) and the page-blocks cache lint keeps in it (oracle)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runbook_checks import cachedir, oracle


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(cachedir.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_keys_are_length_prefixed_so_parts_never_run_together() -> None:
    assert cachedir.key("ab", "c") != cachedir.key("a", "bc")
    assert cachedir.key("ab", "c") == cachedir.key("ab", "c")
    assert cachedir.key(b"x") == cachedir.key("x")


def test_an_entry_reads_back_and_a_broken_one_is_missing(cache: Path) -> None:
    cachedir.store("kind", "k1", [["a", "b"]])
    assert cachedir.load("kind", "k1") == [["a", "b"]]
    assert cachedir.load("kind", "absent") is None
    (cache / "kind" / "k1.json").write_bytes(b"\xff{not json")
    assert cachedir.load("kind", "k1") is None
    assert not list((cache / "kind").glob("*.tmp")), "no temporary file is left behind"


def test_off_and_an_unwritable_folder_store_nothing_and_never_raise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cachedir.ENV, "off")
    cachedir.store("kind", "k", 1)
    assert cachedir.folder() is None and cachedir.load("kind", "k") is None
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder would be")
    monkeypatch.setenv(cachedir.ENV, str(blocker))
    cachedir.store("kind", "k", 1)
    assert cachedir.load("kind", "k") is None


def test_without_the_variable_it_is_the_platform_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(cachedir.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cachedir.folder() == tmp_path / "xdg" / "runbook-checks"


def test_only_the_newest_entries_are_kept(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cachedir, "MAX_ENTRIES", 3)
    for n in range(5):
        cachedir.store("kind", f"k{n}", n)
        os.utime(cache / "kind" / f"k{n}.json", ns=(n * 10**9, n * 10**9))
    cachedir.store("kind", "k5", 5)
    assert sorted(p.stem for p in (cache / "kind").glob("*.json")) == ["k3", "k4", "k5"]


def test_bytes_read_back_whole_and_count_among_the_entries_kept(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cachedir.store_bytes("kind", "b", [b"ab", bytearray(b"\n"), memoryview(b"\x00\xff")])
    assert cachedir.load_bytes("kind", "b") == bytearray(b"ab\n\x00\xff") and cachedir.load("kind", "b") is None
    assert cachedir.load_bytes("kind", "missing") is None
    (cache / "kind" / "deep.json").write_text("[" * 100000)
    assert cachedir.load("kind", "deep") is None  # nested too deeply to read: missing, no RecursionError
    monkeypatch.setattr(cachedir, "MAX_ENTRIES", 2)
    os.utime(cache / "kind" / "b.bin", ns=(0, 0))
    cachedir.store("kind", "j1", 1)
    cachedir.store_bytes("kind", "b2", [b"x"])
    assert sorted(p.name for p in (cache / "kind").iterdir()) == ["b2.bin", "j1.json"]


PAGE = "# T\n\n```bash {#a .check}\necho a\n```\n\n!!! note\n    ```bash {#b .step}\n    echo b\n    ```\n"


def test_a_cached_reading_equals_a_fresh_one_and_is_used(cache: Path) -> None:
    fresh = oracle.rendered_blocks(PAGE)
    assert [b.id for b in fresh] == ["a", "b"]
    [entry] = (cache / "page-blocks").glob("*.json")
    assert oracle.rendered_blocks(PAGE) == fresh
    entry.write_text(json.dumps([["z", "check", "echo z\n"]]))  # what the cache says is what is returned
    assert [b.id for b in oracle.rendered_blocks(PAGE)] == ["z"]
    assert [b.id for b in oracle.rendered_blocks(PAGE + "\n")] == ["a", "b"], "another text is another key"


@pytest.mark.parametrize("hostile", ['{"a": 1}', "[[1, 2, 3]]", '[["a", "check"]]', "[null]", "not json"])
def test_a_hostile_or_broken_entry_is_rendered_again(cache: Path, hostile: str) -> None:
    fresh = oracle.rendered_blocks(PAGE)
    [entry] = (cache / "page-blocks").glob("*.json")
    entry.write_text(hostile)
    assert oracle.rendered_blocks(PAGE) == fresh


@pytest.mark.parametrize(
    "extensions",
    [
        [*oracle.EXTENSIONS, "pymdownx.snippets"],  # reads other files
        [*oracle.EXTENSIONS, "mypackage.myextension"],  # code not in the key
        [*oracle.EXTENSIONS, {"pymdownx.superfences": {"custom_fences": [{"format": object()}]}}],  # a Python object
    ],
)
def test_pages_whose_reading_depends_on_more_than_the_key_are_not_cached(cache: Path, extensions: list) -> None:
    assert oracle._cache_key(PAGE, extensions, None) is None


def test_the_key_covers_extension_options_and_the_site_folder(tmp_path: Path) -> None:
    base = oracle._cache_key(PAGE, list(oracle.EXTENSIONS), None)
    assert base is not None
    assert oracle._cache_key(PAGE, [*oracle.EXTENSIONS, {"toc": {"permalink": True}}], None) != base
    assert oracle._cache_key(PAGE, list(oracle.EXTENSIONS), tmp_path) != base


def test_the_page_blocks_key_names_the_renderers_installed_versions_and_own_extensions():
    from importlib import metadata

    for package, distribution in (("markdown", "markdown"), ("pymdownx", "pymdown-extensions"), ("pygments", "pygments")):
        installed = oracle._installed(package)
        assert installed is not None and f"-{metadata.version(distribution)}.dist-info" in installed
    entry_points = metadata.entry_points(group="markdown.extensions")
    assert oracle._builtin_extensions() == frozenset(ep.name for ep in entry_points if ep.value.startswith("markdown."))
