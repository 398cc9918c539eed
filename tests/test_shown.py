"""The pause between a generator's build and `pipeline build` (pipeline.render.shown):
real child processes and real pipes."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import ROOT

from pipeline.render.shown import ENV, pause, run_with_pauses

# A build that pauses twice (mkdocs-static-i18n pauses once per language) and prints
# what each pause answered.
CHILD = """
import sys
sys.path.insert(0, {root!r})
from pipeline.render.shown import pause
print(pause(), flush=True)
print(pause(), flush=True)
"""


def child(tmp_path) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT)))
    return [sys.executable, str(script)]


def test_each_pause_waits_for_the_enrich_and_is_answered(tmp_path, capfd):
    calls = []
    code = run_with_pauses(child(tmp_path), dict(os.environ), lambda: calls.append("enriched"))
    assert code == 0
    assert calls == ["enriched", "enriched"]
    assert capfd.readouterr().out.split() == ["True", "True"]


def test_a_failing_enrich_lets_the_build_finish_then_is_raised(tmp_path, capfd):
    def fail():
        raise RuntimeError("the ledger cannot be written")

    with pytest.raises(RuntimeError, match="ledger"):
        run_with_pauses(child(tmp_path), dict(os.environ), fail)
    # The build went on with the texts it had: neither pause was answered.
    assert capfd.readouterr().out.split() == ["False", "False"]


@pytest.mark.parametrize("value", [None, "", "garbage", "7", "999,998"])
def test_without_a_pipeline_build_nothing_pauses(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, value)
    assert pause() is False
