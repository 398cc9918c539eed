"""Hostile files and committed state (issue 14, point 8).

A sidecar that is a FIFO, a device, a folder or huge; YAML aliases; symlinks out of
docs_dir; a batch file that lies about paths; writes that fail; temp files left by a
killed run. Each case runs the real CLI in a child process (so a hang is a timeout and a
memory blow-up hits a limit, instead of taking the test run down) and checks: exit 1,
exactly one line on stderr naming the file, no traceback, the other items processed, and
nothing written outside docs_dir and the state folder.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Result, png_bytes

GOOD = "# Good\n\nA good page about wheels.\n"
VALID_SIDECAR = "summary: Written by hand.\nsource: author\n"

# 481 bytes of nested aliases: nine levels of nine references each, 9**9 leaves once loaded.
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "summary: Looks harmless.\nsource: author\n"
)


def _limit_memory() -> None:
    # Without the fix, /dev/zero or an alias bomb would eat all memory; fail instead.
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def cli(site, *argv: str) -> Result:
    """`python -m pipeline ...` in a child process; a hang fails the test after 60 s."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1,localhost"}
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", *argv],
        cwd=site.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def snapshot(top: Path, *skip: Path) -> dict[str, tuple]:
    """Everything under `top` but `skip`, without following links or opening FIFOs."""
    out: dict[str, tuple] = {}
    for here, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if Path(here, d) not in skip]
        for name in names + dirs:
            path = Path(here, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[str(path)] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                out[str(path)] = ("file", path.read_bytes())
            else:
                out[str(path)] = ("other", stat.S_IFMT(st.st_mode))
    return out


class Guard:
    """Snapshot of everything outside docs_dir and .enrich, compared after the run."""

    def __init__(self, site, tmp_path: Path):
        self.args = (tmp_path, site.docs, site.root / ".enrich")
        self.before = snapshot(*self.args)

    def unchanged(self) -> bool:
        return snapshot(*self.args) == self.before


def problem_lines(result: Result) -> list[str]:
    # Progress lines ("[1/3] ...") also go to stderr when it is not a terminal.
    return [line for line in result.err.splitlines() if line.strip() and line[0] != "["]


def assert_one_line(result: Result, prefix: str, text: str = "") -> str:
    assert "Traceback" not in result.err, result.err
    assert result.code == 1, (result.code, result.err)
    lines = problem_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith(prefix), lines[0]
    assert text in lines[0], lines[0]
    return lines[0]


def states(site) -> dict[str, str]:
    return {i["path"]: i["state"] for i in json.loads(cli(site, "status", "--json").out)["items"]}


@pytest.fixture
def outside(tmp_path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    return path


# --- sidecars that are not small regular files -------------------------------------------


def _hostile_sidecar(site, outside, kind: str) -> None:
    path = site.docs / "bad.md.enrich.yml"
    if kind == "dev-zero":
        os.symlink("/dev/zero", path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
        (path / "note.txt").write_text("a folder where a sidecar goes\n")
    elif kind == "huge":
        path.write_text(VALID_SIDECAR + "# padding\n" * 8000)  # 80 KB, over the 64 KiB cap
    elif kind == "aliases":
        path.write_text(ALIAS_BOMB)


SIDECARS = {
    "dev-zero": "",
    "fifo": "not a regular file (a FIFO)",
    "folder": "not a regular file (a folder)",
    "huge": "larger than 64 KiB",
    "aliases": "anchors and aliases",
}


@pytest.mark.parametrize("kind", sorted(SIDECARS))
def test_hostile_sidecar_is_one_line_and_its_item_skipped_in_status(site, outside, tmp_path, kind):
    site.write("good.md", GOOD)
    site.write("bad.md", "# Bad\n\nA page whose sidecar is hostile.\n")
    _hostile_sidecar(site, outside, kind)
    guard = Guard(site, tmp_path)
    result = cli(site, "status", "--json")
    assert_one_line(result, "content/bad.md.enrich.yml:", SIDECARS[kind])
    items = {i["path"]: i["state"] for i in json.loads(result.out)["items"]}
    assert items == {"good.md": "new", "bad.md": "skipped"}
    assert guard.unchanged()
    cache = site.root / ".enrich" / "cache" / "scan.json"
    assert cache.stat().st_size < 100_000  # aliases did not expand into the cache


@pytest.mark.parametrize("kind", sorted(SIDECARS))
def test_hostile_sidecar_enrich_does_the_rest_and_writes_nothing_through_it(
    site, outside, tmp_path, fake_api, kind
):
    site.write("good.md", GOOD)
    site.write("bad.md", "# Bad\n\nA page whose sidecar is hostile.\n")
    _hostile_sidecar(site, outside, kind)
    guard = Guard(site, tmp_path)
    result = cli(site, "enrich")
    assert_one_line(result, "content/bad.md.enrich.yml:", SIDECARS[kind])
    assert (site.docs / "good.md.enrich.yml").is_file()
    assert [b for b in fake_api.messages() if "Bad" in json.dumps(b)] == []
    assert guard.unchanged()


def test_unknown_sidecar_keys_are_ignored_and_never_cached(site):
    site.write("page.md", "# Page\n\nText.\n")
    site.write("page.md.enrich.yml", VALID_SIDECAR + "notes: unknown-key-marker-31337\n")
    result = cli(site, "status", "--json")
    assert result.code == 0, result.err
    assert {i["path"]: i["state"] for i in json.loads(result.out)["items"]} == {"page.md": "author"}
    cache = (site.root / ".enrich" / "cache" / "scan.json").read_bytes()
    assert b"unknown-key-marker-31337" not in cache


# --- symlinks that leave docs_dir ------------------------------------------------------------


def test_page_symlink_leaving_docs_dir_is_skipped_and_never_sent(site, outside, tmp_path, fake_api):
    (outside / "secret.md").write_text("# Secret\n\nSECRET-OUTSIDE-TEXT\n")
    os.symlink(outside / "secret.md", site.docs / "leak.md")
    site.write("good.md", GOOD)
    guard = Guard(site, tmp_path)
    result = cli(site, "enrich")
    assert_one_line(result, "content/leak.md:", "symlink that leaves docs_dir")
    assert "SECRET-OUTSIDE-TEXT" not in json.dumps(fake_api.messages())
    assert (site.docs / "good.md.enrich.yml").is_file()
    assert not (site.docs / "leak.md.enrich.yml").exists()
    assert guard.unchanged()


def test_folder_symlink_leaving_docs_dir_gets_no_sidecar_written_into_it(
    site, outside, tmp_path, fake_api
):
    (outside / "ext").mkdir()
    (outside / "ext" / "a.md").write_text("# Outside\n\nA page kept outside the site.\n")
    os.symlink(outside / "ext", site.docs / "ext")
    site.write("good.md", GOOD)
    guard = Guard(site, tmp_path)
    result = cli(site, "enrich")
    assert_one_line(result, "content/ext/a.md:", "symlink that leaves docs_dir")
    assert not (outside / "ext" / "a.md.enrich.yml").exists()
    assert (site.docs / "good.md.enrich.yml").is_file()
    assert guard.unchanged()


def test_sidecar_symlink_leaving_docs_dir_is_not_read(site, outside, tmp_path, fake_api):
    (outside / "theirs.yml").write_text(VALID_SIDECAR)
    site.write("page.md", "# Page\n\nText.\n")
    os.symlink(outside / "theirs.yml", site.docs / "page.md.enrich.yml")
    site.write("good.md", GOOD)
    guard = Guard(site, tmp_path)
    result = cli(site, "enrich")
    assert_one_line(result, "content/page.md.enrich.yml:", "symlink that leaves docs_dir")
    assert (site.docs / "good.md.enrich.yml").is_file()
    assert states(site)["page.md"] == "skipped"
    assert guard.unchanged()


def test_dangling_sidecar_symlink_out_of_docs_dir_is_left_alone(site, outside, tmp_path, fake_api):
    site.write("page.md", "# Page\n\nText.\n")
    os.symlink(outside / "not-yet.yml", site.docs / "page.md.enrich.yml")
    site.write("good.md", GOOD)
    guard = Guard(site, tmp_path)
    result = cli(site, "enrich")
    assert_one_line(result, "content/page.md.enrich.yml:", "broken symlink")
    assert (site.docs / "page.md.enrich.yml").is_symlink()  # not replaced, not followed
    assert not (outside / "not-yet.yml").exists()
    assert (site.docs / "good.md.enrich.yml").is_file()
    assert guard.unchanged()


def test_atomic_write_refuses_a_symlink_out_of_its_root(tmp_path):
    from pipeline.fsutil import UnsafePath, atomic_write

    docs, target = tmp_path / "docs", tmp_path / "target.yml"
    docs.mkdir()
    target.write_text("outside\n")
    os.symlink(target, docs / "x.enrich.yml")
    with pytest.raises(UnsafePath):
        atomic_write(docs / "x.enrich.yml", b"new\n", root=docs)
    with pytest.raises(UnsafePath):
        atomic_write(docs / "x.enrich.yml", b"new\n")  # no root: no symlink replaced
    assert target.read_text() == "outside\n"
    assert (docs / "x.enrich.yml").is_symlink()
    assert os.listdir(docs) == ["x.enrich.yml"]


# --- writes that fail ------------------------------------------------------------------------


def test_sidecar_that_cannot_be_written_fails_that_item_only(site, tmp_path, fake_api):
    # A page name that fits, whose sidecar name does not (NAME_MAX is 255): fails for root too.
    long = "l" * 244 + ".md"
    site.write(long, "# Long\n\nA page with a very long file name.\n")
    site.write("good.md", GOOD)
    guard = Guard(site, tmp_path)
    result = cli(site, "enrich")
    assert_one_line(result, f"content/{long}.enrich.yml:", "cannot write sidecar")
    assert (site.docs / "good.md.enrich.yml").is_file()
    assert guard.unchanged()
    ledger = (site.root / ".enrich" / "ledger.jsonl").read_text().splitlines()
    assert len(ledger) == 2  # the failed write's request was paid for, and is logged


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_fails_its_items_only(site, tmp_path, fake_api):
    site.write("ro/page.md", "# Read only\n\nIn a read-only folder.\n")
    site.write("good.md", GOOD)
    (site.docs / "ro").chmod(0o555)
    try:
        guard = Guard(site, tmp_path)
        result = cli(site, "enrich")
        assert_one_line(result, "content/ro/page.md.enrich.yml:", "cannot write sidecar")
        assert (site.docs / "good.md.enrich.yml").is_file()
        assert guard.unchanged()
    finally:
        (site.docs / "ro").chmod(0o755)


def test_temp_files_left_by_a_killed_run_are_swept_and_nothing_else(site):
    left = [
        site.docs / ".page.md.enrich.yml.enrich-tmp-ab12cd34",
        site.docs / "sub" / ".x.png.enrich.yml.enrich-tmp-zz_9yy88",
        site.root / ".enrich" / ".batches.json.enrich-tmp-a1b2c3d4",
    ]
    kept = [
        site.docs / ".notes.enrich-tmp-short",  # not 8 characters: not ours
        site.docs / "enrich-tmp-ab12cd34",  # not a dotfile: not ours
        site.docs / ".page.md.enrich.yml.ab12cd34.tmp",  # someone else's pattern
        site.root / "mkdocs.yml",
    ]
    for path in left + kept[:-1]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    result = cli(site, "enrich")
    assert result.code == 0, result.err
    assert [p for p in left if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []


# --- .enrich/batches.json read back -----------------------------------------------------------

BATCH_CONFIG = (
    "site_name: t\ndocs_dir: content\nplugins:\n  - enrich:\n      batch_poll_seconds: 0.01\n"
)


def _tamper(entry: dict, how: str) -> None:
    if how == "home":
        entry["home"] = "../mkdocs.yml"
    elif how == "path":
        entry["path"] = "../mkdocs.yml"
        entry["home"] = "../mkdocs.yml.enrich.yml"


@pytest.mark.parametrize("how", ["home", "path"])
def test_batch_file_paths_are_never_written_to(site, tmp_path, fake_api, how):
    site.set_config(BATCH_CONFIG)
    site.write("p0.md", "# Page 0\n\nWords of page zero.\n")
    site.write("p1.md", "# Page 1\n\nWords of page one.\n")
    assert cli(site, "enrich", "--batch").code == 0
    path = site.root / ".enrich" / "batches.json"
    data = json.loads(path.read_text())
    _tamper(data["batches"][0]["items"][0], how)
    path.write_text(json.dumps(data))
    fake_api.batch_polls_before_end = 0
    guard = Guard(site, tmp_path)
    config = site.config.read_bytes()
    result = cli(site, "enrich", "--batch", "--wait")
    assert_one_line(result, ".enrich/batches.json:", "set aside as batches.json.bad-")
    assert site.config.read_bytes() == config
    assert guard.unchanged()
    assert len(list((site.root / ".enrich").glob("batches.json.bad-*"))) == 1
    # The rest goes on: both pages are sent again and collected in this same run.
    assert sorted(p.name for p in site.docs.glob("*.enrich.yml")) == [
        "p0.md.enrich.yml",
        "p1.md.enrich.yml",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2]",
        "{not json",
        '{"batches": [{"id": "../../v1/models", "model": "m", "items": []}]}',
        '{"batches": [{"id": "b1", "model": "m", "items": [{"kind": "page"}]}]}',
    ],
    ids=["list", "not-json", "id-with-slashes", "item-without-fields"],
)
def test_batch_file_of_the_wrong_shape_is_set_aside_once(site, tmp_path, fake_api, text):
    site.write("good.md", GOOD)
    (site.root / ".enrich").mkdir()
    (site.root / ".enrich" / "batches.json").write_text(text)
    guard = Guard(site, tmp_path)
    result = cli(site, "enrich")
    assert_one_line(result, ".enrich/batches.json:", "corrupt batch file")
    assert (site.docs / "good.md.enrich.yml").is_file()
    (aside,) = (site.root / ".enrich").glob("batches.json.bad-*")
    assert aside.read_text() == text
    assert guard.unchanged()
    again = cli(site, "enrich")  # not failing every run
    assert again.code == 0, again.err
    assert problem_lines(again) == []


def test_image_sidecar_cases_share_the_page_rules(site, tmp_path, fake_api):
    """An image's sidecar is read the same way: a FIFO beside a PNG is one line."""
    site.write("img/a.png", png_bytes())
    site.write("page.md", "# Page\n\n![](img/a.png)\n")
    os.mkfifo(site.docs / "img" / "a.png.enrich.yml")
    guard = Guard(site, tmp_path)
    result = cli(site, "enrich")
    assert_one_line(result, "content/img/a.png.enrich.yml:", "FIFO")
    assert (site.docs / "page.md.enrich.yml").is_file()
    assert guard.unchanged()


# --- other committed state in .enrich ---------------------------------------------------------


def test_ledger_symlink_out_of_the_state_folder_stops_before_spending(
    site, outside, tmp_path, fake_api
):
    (outside / "notes.txt").write_text("someone's file\n")
    (site.root / ".enrich").mkdir()
    os.symlink(outside / "notes.txt", site.root / ".enrich" / "ledger.jsonl")
    site.write("good.md", GOOD)
    guard = Guard(site, tmp_path)
    result = cli(site, "enrich")
    assert_one_line(result, "error: .enrich/ledger.jsonl:", "symlink")
    assert fake_api.calls("/v1/messages") == 0  # refused before anything was paid for
    assert guard.unchanged()


def test_lock_that_is_a_fifo_does_not_hang_the_run(site, fake_api):
    (site.root / ".enrich").mkdir()
    os.mkfifo(site.root / ".enrich" / "lock")
    site.write("good.md", GOOD)
    result = cli(site, "enrich")
    assert result.code == 0, result.err  # a torn lock: taken over
    assert (site.docs / "good.md.enrich.yml").is_file()
