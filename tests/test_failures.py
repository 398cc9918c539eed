"""Pay once, even when the answer is hard: failure classes, their bounded policy, and the
memory that keeps a scheduled job from paying for the same failure on every run.

Against the HTTP fake (the real SDK, the real CLI in-process): it answers one page with a
refusal, one with a reply too long for any budget (cut at max_tokens), one with a 400
invalid_request_error, one with JSON that is never valid, and one with the code-naming
text real models write about technical pages.
"""

from __future__ import annotations

import json
import shutil

import pytest
from fake_anthropic import Refusal, bad_request

from pipeline import sidecars as store

CONFIG = "site_name: t\ndocs_dir: content\nplugins:\n  - enrich:\n      batch_poll_seconds: 0.01\n"

CODE_REPLY = {
    "summary": "How `__init__.py` re-exports names; why **kwargs and *args pass through.",
    "abstract": "Compares Result<T, E> with std::vector<int> -> both are **generic** types.",
}
# Pages that fail for good, each in its own way, and the one that must cost exactly one.
FAILING = {
    "refused.md": "MARK-REFUSE",
    "rambling.md": "MARK-RAMBLE",
    "rejected.md": "MARK-REJECT",
    "broken.md": "MARK-BROKEN",
}
CODE = {"code.md": "MARK-CODE"}


@pytest.fixture
def hard_site(site, fake_api):
    site.set_config(CONFIG)
    for path, marker in {**FAILING, **CODE, "plain.md": "MARK-PLAIN"}.items():
        site.write(path, f"# {path}\n\nA page about {marker} and nothing else.\n")
    fake_api.responses_by_marker.update(
        {
            "MARK-REFUSE": Refusal("I can't help with that."),
            # Far past twice the page budget (400 output tokens): cut off both times.
            "MARK-RAMBLE": {"summary": "Word. " * 2000, "abstract": "More."},
            "MARK-REJECT": bad_request("messages.0.content.0: invalid content"),
            "MARK-BROKEN": "Sure! Here is a summary of the page.",
            "MARK-CODE": CODE_REPLY,
        }
    )
    return site


def _asked(bodies: list, marker: str) -> int:
    return sum(1 for b in bodies if marker in json.dumps(b))


def _direct_bodies(fake_api) -> list:
    # Every POST /v1/messages the SDK made, answered or not (a 400 is not in messages()).
    return [r.body for r in fake_api.requests if r.method == "POST" and r.path == "/v1/messages"]


def _batch_bodies(fake_api) -> list:
    return [
        req["params"]
        for r in fake_api.requests
        if r.method == "POST" and r.path == "/v1/messages/batches"
        for req in r.body["requests"]
    ]


@pytest.mark.parametrize("mode", ["direct", "batch"])
def test_six_scheduled_runs_pay_at_most_twice_per_failure_and_once_per_code_page(
    hard_site, fake_api, mode
):
    args = ["enrich"] if mode == "direct" else ["enrich", "--batch", "--wait"]
    for run in range(6):
        result = hard_site.run(*args)
        assert "Traceback" not in result.err + result.out
        assert result.code == (1 if run == 0 else 0), result.err  # failures named once
        if mode == "batch" and run == 0:
            assert (
                "Results: 2 succeeded, 4 failed (1 invalid_reply, 1 invalid_request, "
                "1 max_tokens, 1 refusal), 2 second tries." in result.out
            )
    bodies = _direct_bodies(fake_api) if mode == "direct" else _batch_bodies(fake_api)
    for path, marker in FAILING.items():
        assert 1 <= _asked(bodies, marker) <= 2, path
    assert _asked(bodies, "MARK-CODE") == 1
    assert _asked(bodies, "MARK-PLAIN") == 1
    # Precisely: a refusal is not re-asked (no fallback), a 400 is never retried, a
    # cut-off reply gets one larger budget, a broken reply one try with the reason.
    assert _asked(bodies, "MARK-REFUSE") == 1
    assert _asked(bodies, "MARK-REJECT") == 1
    ramble = [b for b in bodies if "MARK-RAMBLE" in json.dumps(b)]
    assert [b["max_tokens"] for b in ramble] == [400, 800]
    broken = [b for b in bodies if "MARK-BROKEN" in json.dumps(b)]
    assert "previous reply was rejected: reply is not JSON" in json.dumps(broken[1])

    states = hard_site.states()
    assert {p: states[p] for p in FAILING} == dict.fromkeys(FAILING, "failed")
    assert states["code.md"] == "up-to-date" and states["plain.md"] == "up-to-date"
    code = store.read(hard_site.docs, "code.md.enrich.yml")
    assert code.summary == "How __init__.py re-exports names; why **kwargs and *args pass through."
    assert code.abstract == "Compares Result<T, E> with std::vector<int> -> both are generic types."
    failures = {p: store.read(hard_site.docs, p + ".enrich.yml") for p in FAILING}
    assert {p: sc.failure for p, sc in failures.items()} == {
        "refused.md": "refusal",
        "rambling.md": "max_tokens",
        "rejected.md": "invalid_request",
        "broken.md": "invalid_reply",
    }
    for sc in failures.values():
        assert sc.source == "failed" and sc.fingerprint and sc.reason
        assert (sc.model, sc.prompt) == ("claude-haiku-5-5", "page-3")


def test_the_memory_survives_a_fresh_clone(hard_site, fake_api, tmp_path):
    """What CI sees is what is committed: the sidecars and the ledger, not a cache."""
    assert hard_site.run("enrich").code == 1
    for name in ("cache", "lock"):
        shutil.rmtree(hard_site.root / ".enrich" / name, ignore_errors=True)
    before = len(_direct_bodies(fake_api))
    assert hard_site.run("enrich").code == 0
    assert len(_direct_bodies(fake_api)) == before


def test_a_failed_item_is_asked_again_when_its_source_model_or_prompt_changes(hard_site, fake_api):
    hard_site.run("enrich")
    before = _asked(_direct_bodies(fake_api), "MARK-REFUSE")
    hard_site.write("refused.md", "# refused.md\n\nA new version about MARK-REFUSE.\n")
    assert hard_site.states()["refused.md"] == "new"
    hard_site.run("enrich")
    assert _asked(_direct_bodies(fake_api), "MARK-REFUSE") == before + 1
    hard_site.set_config(CONFIG + "      model: claude-haiku-4-5\n")
    states = hard_site.states()
    assert states["rejected.md"] == "new"  # failed with another model: worth one more try
    assert states["code.md"] == "outdated"  # text is only re-made with --upgrade
    hard_site.set_config(CONFIG)
    assert hard_site.states()["broken.md"] == "failed"
    sidecar = hard_site.docs / "broken.md.enrich.yml"
    sidecar.write_text(sidecar.read_text().replace("prompt: page-3", "prompt: page-2"))
    assert hard_site.states()["broken.md"] == "new"  # made with an older prompt version


def test_retry_failed_asks_again_once(hard_site, fake_api):
    hard_site.run("enrich")
    before = _asked(_direct_bodies(fake_api), "MARK-REJECT")
    assert hard_site.run("enrich").code == 0
    result = hard_site.run("enrich", "--retry-failed")
    assert result.code == 1
    assert _asked(_direct_bodies(fake_api), "MARK-REJECT") == before + 1


def test_a_refusal_gets_one_try_on_the_fallback_model(hard_site, fake_api):
    hard_site.set_config(CONFIG + "      fallback_model: claude-sonnet-5-5\n")

    def polite_sonnet(body):
        if body["model"] == "claude-sonnet-5-5":
            return {"summary": "A page the fallback model answered.", "abstract": "It did."}
        return Refusal("No.")

    fake_api.responses_by_marker.pop("MARK-REFUSE")
    fake_api.responder = polite_sonnet
    hard_site.run("enrich")
    asked = [b["model"] for b in _direct_bodies(fake_api) if "MARK-REFUSE" in json.dumps(b)]
    assert asked == ["claude-haiku-5-5", "claude-sonnet-5-5"]
    sc = store.read(hard_site.docs, "refused.md.enrich.yml")
    assert (sc.summary, sc.model) == ("A page the fallback model answered.", "claude-sonnet-5-5")


def test_an_errored_batch_item_of_a_transient_type_is_requeued(hard_site, fake_api):
    fake_api.responses_by_marker.clear()
    hard_site.run("enrich", "--batch")
    [batch] = json.loads((hard_site.root / ".enrich" / "batches.json").read_text())["batches"]
    plain = next(e["custom_id"] for e in batch["items"] if e["path"] == "plain.md")
    fake_api.batch_outcomes[plain] = "errored"  # an api_error: worth another try
    fake_api.batch_polls_before_end = 0
    result = hard_site.run("enrich", "--batch")
    assert "plain.md: batch result errored (api_error)" in result.err
    assert "Results: 5 succeeded, 1 re-queued (transient)." in result.out
    assert hard_site.states()["plain.md"] == "new"


def test_status_names_each_failure_with_its_reason_and_what_to_do(hard_site, fake_api):
    hard_site.run("enrich")
    result = hard_site.run("status")
    header = next(line for line in result.out.splitlines() if "up-to-date" in line)
    assert header.split()[-1] == "failed"
    pages = next(line for line in result.out.splitlines() if line.startswith("pages"))
    assert pages.split()[-1] == "4"
    assert "failed     page   refused.md  refusal: the model declined to answer" in result.out
    assert "set `fallback_model`" in result.out
    assert "failed     page   rejected.md  invalid_request: API error 400" in result.out
    assert "Text a person writes always wins" in result.out
    data = hard_site.status()
    assert data["totals"]["pages"]["failed"] == 4 and data["totals"]["failed"] == 4
    broken = next(i for i in data["items"] if i["path"] == "broken.md")
    assert broken["state"] == "failed"
    assert broken["detail"] == "invalid_reply: reply is not JSON"
    assert "--retry-failed" in broken["advice"]
    plain = next(i for i in data["items"] if i["path"] == "plain.md")
    assert "advice" not in plain


def test_text_a_person_writes_into_a_failed_sidecar_wins(hard_site, fake_api):
    hard_site.run("enrich")
    path = hard_site.docs / "refused.md.enrich.yml"
    path.write_text(path.read_text().replace("source: failed", "source: author\nsummary: Mine."))
    assert hard_site.states()["refused.md"] == "author"
    before = len(_direct_bodies(fake_api))
    hard_site.run("enrich", "--retry-failed")
    assert store.read(hard_site.docs, "refused.md.enrich.yml").summary == "Mine."
    # The other three failures only, each by its policy: 2 (max_tokens) + 1 (400) + 2 (broken).
    assert len(_direct_bodies(fake_api)) == before + 5


def test_a_failed_image_gets_no_alt_from_its_sidecar_not_even_an_empty_one(site, fake_api):
    from conftest import png_bytes

    from pipeline.config import load_site
    from pipeline.plan import build_plan
    from pipeline.render.texts import collect
    from pipeline.source.discover import discover

    site.set_config(CONFIG)
    site.write("index.md", "# Home\n\nA photo.\n\n![](img/a.png)\n")
    site.write("img/a.png", png_bytes())
    fake_api.responder = lambda body: (
        (Refusal("No.") if body["messages"][0]["content"][0]["type"] == "image" else None)
        or {"summary": "Home.", "abstract": "Home page."}
    )
    site.run("enrich")
    assert site.states()["img/a.png"] == "failed"
    s = load_site(site.config)
    texts = collect(build_plan(s, discover(s)))
    # An empty alt would mark it decorative; a missing one leaves the <img> as written.
    assert "img/a.png" not in texts.images


@pytest.mark.parametrize(
    "status, state, calls",
    [(413, "failed", 1), (400, "failed", 1), (404, "new", 1), (529, "new", 4)],
)
def test_only_an_invalid_request_is_remembered_other_errors_stay_stale(
    site, fake_api, status, state, calls
):
    site.set_config(CONFIG + "      max_retries: 3\n")
    site.write("big.md", "# Big\n\nA page the API will not take.\n")
    fake_api.add_fault(status, times=10, retry_after_ms=1)
    result = site.run("enrich")
    assert result.code == 1 and "Traceback" not in result.err
    assert site.states()["big.md"] == state
    assert fake_api.calls("/v1/messages") == calls  # the SDK retries only 408/409/429/5xx
