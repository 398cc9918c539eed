"""`enrich --batch` and `--commit`, against the fake server's Message Batches endpoints."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import png_bytes

from pipeline import sidecars as store
from pipeline.enrich.batch import custom_id, load, split
from pipeline.enrich.runner import Work
from pipeline.plan import Item, State

CONFIG = "site_name: t\ndocs_dir: content\nplugins:\n  - enrich:\n      batch_poll_seconds: 0.01\n"


@pytest.fixture
def bsite(site):
    site.set_config(CONFIG)
    for n in range(3):
        site.write(f"p{n}.md", f"# Page {n}\n\nWords of page {n}.\n\n![](img/a.png)\n")
    site.write("img/a.png", png_bytes())
    site.write("img/copy.png", png_bytes())  # same bytes: one item
    site.write("p3.md", "# Page 3\n\n![](img/copy.png)\n\nMore words.\n")
    return site


def submitted(fake_api) -> list[dict]:
    return [
        r.body for r in fake_api.requests if r.method == "POST" and r.path == "/v1/messages/batches"
    ]


def test_submit_then_collect(bsite, fake_api):
    result = bsite.run("enrich", "--batch")
    assert result.code == 0, result.err
    (create,) = submitted(fake_api)
    assert len(create["requests"]) == 5  # 4 pages + 1 unique image; no duplicates
    # A batch runs longer than 5 minutes: its shared prefix is cached for an hour.
    for request in create["requests"]:
        [block] = request["params"]["system"]
        assert block["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert bsite.sidecar_bytes() == {}
    pending = load(bsite.root / ".enrich")
    assert len(pending) == 1 and len(pending[0]["items"]) == 5

    fake_api.batch_polls_before_end = 0  # it has ended by the next scheduled run
    result = bsite.run("enrich", "--batch")
    assert result.code == 0, result.err
    assert "collected batch" in result.out
    assert set(bsite.states().values()) == {"up-to-date"}
    assert not (bsite.root / ".enrich" / "batches.json").exists()
    assert len(submitted(fake_api)) == 1  # nothing left to submit

    ledger_text = (bsite.root / ".enrich" / "ledger.jsonl").read_text()
    records = [json.loads(line) for line in ledger_text.splitlines()]
    assert len(records) == 5
    assert {r["mode"] for r in records} == {"batch"}
    assert sum(r.get("cache_creation_1h_input_tokens", 0) for r in records) > 0
    for r in records:
        hour = r.get("cache_creation_1h_input_tokens", 0)
        assert hour == r["cache_creation_input_tokens"]  # every write is a 1-hour one
        # claude-haiku-5-5's published rates per million tokens, halved for a batch:
        # input $0.10, output $0.50, 1-hour cache write $0.20 (2x input), cache read $0.01.
        dollars = (
            r["input_tokens"] * 0.05
            + r["output_tokens"] * 0.25
            + hour * 0.10
            + r["cache_read_input_tokens"] * 0.005
        ) / 1_000_000
        assert r["input_tokens"] > 0 and r["output_tokens"] > 0
        assert r["cost_usd"] == pytest.approx(dollars, abs=1e-8)  # the ledger keeps 8 decimals


def test_up_to_date_items_never_enter_a_batch(bsite, fake_api):
    bsite.run("enrich", "--batch", "--wait")
    fake_api.reset()
    bsite.write("p1.md", "# Page 1\n\nChanged words.\n\n![](img/a.png)\n")
    bsite.run("enrich", "--batch")
    (create,) = submitted(fake_api)
    assert len(create["requests"]) == 1


def test_wait_polls_and_collects_in_one_run_with_few_http_calls(bsite, fake_api):
    fake_api.batch_polls_before_end = 3
    result = bsite.run("enrich", "--batch", "--wait")
    assert result.code == 0, result.err
    assert set(bsite.states().values()) == {"up-to-date"}
    creates = fake_api.calls("/v1/messages/batches", method="POST")
    results = sum(1 for r in fake_api.requests if r.path.endswith("/results"))
    assert (creates, results) == (1, 1)
    assert fake_api.calls("/v1/messages", method="POST") == creates  # no direct requests


def test_item_changed_between_submit_and_collect_is_not_written_and_requeued(bsite, fake_api):
    fake_api.batch_polls_before_end = 0
    bsite.run("enrich", "--batch")
    bsite.write("p2.md", "# Page 2\n\nRewritten while the batch ran.\n\n![](img/a.png)\n")
    result = bsite.run("enrich", "--batch")
    assert result.code == 0, result.err
    states = bsite.states()
    assert states["p2.md"] == "new"  # its old text was not written over the new page
    assert not (bsite.docs / "p2.md.enrich.yml").exists()
    # ...and this same run submitted it again.
    assert len(submitted(fake_api)) == 2
    assert [e["path"] for e in load(bsite.root / ".enrich")[0]["items"]] == ["p2.md"]


def test_errored_and_expired_results_are_reported_and_requeued(bsite, fake_api):
    fake_api.batch_polls_before_end = 0
    bsite.run("enrich", "--batch")
    pending = load(bsite.root / ".enrich")[0]["items"]
    by_path = {e["path"]: e["custom_id"] for e in pending}
    fake_api.batch_outcomes[by_path["p0.md"]] = "errored"
    fake_api.batch_outcomes[by_path["img/a.png"]] = "expired"
    result = bsite.run("enrich", "--batch")
    assert result.code == 1
    assert "p0.md: batch result errored" in result.err
    assert "img/a.png: batch result expired" in result.err
    states = bsite.states()
    assert states["p0.md"] == "new" and states["img/a.png"] == "new"
    assert sorted(e["path"] for e in load(bsite.root / ".enrich")[0]["items"]) == [
        "img/a.png",
        "p0.md",
    ]


def test_person_edit_during_batch_is_kept(bsite, fake_api):
    bsite.run("enrich", "--batch", "--wait")
    bsite.write("p1.md", "# Page 1\n\nNew words.\n\n![](img/a.png)\n")
    bsite.run("enrich", "--batch")
    fake_api.batch_polls_before_end = 0
    bsite.write("p1.md.enrich.yml", "summary: Mine.\nabstract: Mine too.\nsource: author\n")
    result = bsite.run("enrich", "--batch")
    assert "edited by a person while the batch ran: kept" in result.err
    assert store.read(bsite.docs, "p1.md.enrich.yml").summary == "Mine."


def test_direct_run_skips_items_pending_in_a_batch(bsite, fake_api):
    bsite.run("enrich", "--batch")
    result = bsite.run("enrich")
    assert "5 item(s) are pending in a batch: skipped" in result.out
    assert fake_api.calls("/v1/messages", method="POST") == 1  # only the batch create


def test_split_respects_request_and_size_limits():
    def work(n: int) -> Work:
        item = Item("page", f"p{n}.md", State.NEW, fingerprint=f"sha256:{n}")
        return Work(item, {"messages": [{"content": "x" * 1000}]}, 10)

    works = [work(n) for n in range(10)]
    assert [len(c) for c in split(works, max_requests=4)] == [4, 4, 2]
    assert [len(c) for c in split(works, max_bytes=3500)] == [3, 3, 3, 1]
    ids = {custom_id(w.item) for w in works}
    assert len(ids) == 10 and all(len(i) <= 64 for i in ids)


# --- --commit ----------------------------------------------------------------------------


def git(site, *args):
    return subprocess.run(
        ["git", *args], cwd=site.root, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def repo(bsite):
    git(bsite, "init", "-q", "-b", "main")
    git(bsite, "config", "user.email", "t@example.invalid")
    git(bsite, "config", "user.name", "T")
    git(bsite, "add", "-A")
    git(bsite, "commit", "-qm", "init")
    return bsite


def test_commit_stages_only_sidecars_and_ledger(repo, fake_api):
    (repo.root / "notes.txt").write_text("unrelated work in progress\n")
    repo.write("p0.md", "# Page 0\n\nAn unrelated edit in progress.\n\n![](img/a.png)\n")
    git(repo, "add", "notes.txt")  # even something already staged stays out
    assert repo.run("enrich", "--commit").code == 0
    files = git(repo, "show", "--name-only", "--format=%s", "HEAD").splitlines()
    subject, changed = files[0], [f for f in files[1:] if f]
    assert subject.startswith("enrich: 4 page summaries, 1 alt texts (")
    assert all(f.endswith(".enrich.yml") or f == ".enrich/ledger.jsonl" for f in changed)
    assert "content/p0.md" not in changed and "notes.txt" not in changed
    status = git(repo, "status", "--porcelain")
    assert "A  notes.txt" in status and " M content/p0.md" in status


def test_commit_does_nothing_when_nothing_changed(repo, fake_api):
    repo.run("enrich", "--commit")
    head = git(repo, "rev-parse", "HEAD")
    result = repo.run("enrich", "--commit")
    assert "Nothing to commit" in result.out
    assert git(repo, "rev-parse", "HEAD") == head


def test_batch_commit_records_the_pending_batch(repo, fake_api):
    assert repo.run("enrich", "--batch", "--commit").code == 0
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == [".enrich/batches.json"]


def test_batch_dry_run_prices_the_one_hour_write_at_batch_price(bsite):
    import re

    def figures(*extra: str) -> tuple[int, float]:
        out = bsite.run("enrich", "--dry-run", *extra).out
        m = re.search(r"([\d,]+) token-equivalents .* about \$([\d.]+)", out)
        assert m, out
        return int(m.group(1).replace(",", "")), float(m.group(2))

    direct_paid, direct_dollars = figures()
    batch_paid, batch_dollars = figures("--batch")
    assert "at batch price" in bsite.run("enrich", "--dry-run", "--batch").out
    assert batch_paid > direct_paid  # two prefixes written at 2x instead of 1.25x
    assert batch_dollars < direct_dollars  # ... and still about half the price


def test_commit_includes_remembered_failures_and_says_so(repo, fake_api):
    from fake_anthropic import Refusal

    fake_api.responses_by_marker["Words of page 1"] = Refusal("No.")
    assert repo.run("enrich", "--commit").code == 1
    body = git(repo, "log", "-1", "--format=%b")
    assert "0 failed and stay stale; 1 recorded as failed" in body
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert "content/p1.md.enrich.yml" in changed  # the memory is committed with the rest


def test_commit_includes_the_rendered_record(repo, fake_api):
    """Sidecars of pages fingerprinted by their rendered words are computed from
    .enrich/rendered.json: it is committed with them, or a fresh checkout would see them
    all changed."""
    (repo.root / ".enrich").mkdir(exist_ok=True)
    (repo.root / ".enrich" / "rendered.json").write_text('{"version": "rendered-1", "pages": {}}\n')
    assert repo.run("enrich", "--commit").code == 0
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert ".enrich/rendered.json" in changed
