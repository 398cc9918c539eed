"""The reply rules against a fixture table of realistic replies (tests/fixtures/replies/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pipeline.enrich.replies import Invalid, check, cut_once, normalise

TABLE = yaml.safe_load((Path(__file__).parent / "fixtures/replies/replies.yml").read_text())


def test_the_table_is_large_enough_and_names_are_unique():
    assert len(TABLE) >= 40
    assert len({c["name"] for c in TABLE}) == len(TABLE)


@pytest.mark.parametrize("case", TABLE, ids=[c["name"] for c in TABLE])
def test_reply(case):
    reply = case["reply"]
    text = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
    if "refused" in case:
        with pytest.raises(Invalid) as e:
            check(case["kind"], text)
        assert case["refused"] in str(e.value)
        return
    stored = check(case["kind"], text).fields
    expected = {**reply, **case["stored"]}
    assert stored == expected


@pytest.mark.parametrize(
    "text",
    ["__init__", "**kwargs", "*args", "__init__.py", "a * b * c", "x_y_z", "2**8**2", "_"],
)
def test_code_names_are_never_unwrapped(text):
    assert normalise(text) == text


def test_one_cut_keeps_whole_sentences_or_refuses():
    assert cut_once("One. Two three four.", 10) is None  # "One." is under half the limit
    assert cut_once("One two. Three four.", 10) == "One two."
    assert cut_once("第一句。第二句很长很长", 6) == "第一句。"
    assert cut_once("short", 10) == "short"
