"""Prompt versions, the token cut, and output validation: small pure functions."""

from __future__ import annotations

import json
import math
import re

import pytest

from pipeline.enrich.pricing import PRICES, estimate_text_tokens
from pipeline.enrich.prompts import (
    CUT_MARK,
    IMAGE_PROMPT_VERSION,
    IMAGE_SCHEMA,
    IMAGE_SYSTEM,
    PAGE_PROMPT_VERSION,
    PAGE_SCHEMA,
    PAGE_SYSTEM,
    cut_to_budget,
    prompt_fingerprint,
)
from pipeline.enrich.replies import Invalid, image_reply, page_reply
from pipeline.text import clean, fit

# Editing a prompt or schema changes its fingerprint. Bump the version beside it (items
# made with the old one become `outdated`, never stale) and record the new pair here.
KNOWN = {
    "page-1": "1c89e17b3e153f96",
    "image-1": "1b04cb2786ac14db",
    "page-2": "b446848b07f19519",
    "image-2": "7ea5f1660b920981",
    "page-3": "84685f8fb9aaa5f6",
    "image-3": "3be5feca515db75f",
}


def test_prompt_changes_come_with_a_version_bump():
    assert KNOWN[PAGE_PROMPT_VERSION] == prompt_fingerprint(PAGE_SYSTEM, PAGE_SCHEMA)
    assert KNOWN[IMAGE_PROMPT_VERSION] == prompt_fingerprint(IMAGE_SYSTEM, IMAGE_SCHEMA)


# The page-1 / image-1 system prompts, paid in full on every request (not cacheable).
LEAN_PROMPT_TOKENS = {"page": 180, "image": 215}


@pytest.mark.parametrize("kind, system", [("page", PAGE_SYSTEM), ("image", IMAGE_SYSTEM)])
def test_prefix_is_cacheable_and_cheaper_to_read_than_the_lean_prompt(kind, system):
    # Issue 17: under the minimum a prefix is silently not cached and paid in full on
    # every request. Over it, every token is read at 0.1x on every request. So: over the
    # minimum by the local estimate with a fifth to spare (the real tokenizer may count
    # fewer), and by the test fake's coarser count (4 characters a token), so the tests
    # see it cached; and small enough that reading it plus the language line it brings
    # costs at most half the lean prompt it replaces, or the kind does not gain.
    minimum = PRICES["claude-haiku-5-5"].min_cacheable_tokens
    local = estimate_text_tokens(system, "claude-haiku-5-5")
    assert local >= 1.2 * minimum
    assert math.ceil(len(system) / 4) >= minimum
    language_line = estimate_text_tokens("Language: English (en)\n", "claude-haiku-5-5")
    assert 0.1 * local + language_line <= LEAN_PROMPT_TOKENS[kind] / 2


def _examples(system: str) -> list[str]:
    return re.findall(r"^\{\"(?:.|\n)*?\}$", system, re.M)


OPENERS = ("this page", "this article", "learn", "in this guide")
FILLER = ("image of", "picture of", "photo of", "graphic of", "screenshot of")


def test_worked_examples_obey_the_rules_they_teach():
    # A worked example that breaks a rule teaches the model to break it.
    pages, images = _examples(PAGE_SYSTEM), _examples(IMAGE_SYSTEM)
    assert len(pages) >= 2 and len(images) >= 4
    for reply in pages:
        summary, abstract = page_reply(reply)
        assert not summary.lower().startswith(OPENERS), summary
        assert summary not in abstract
    decorative = []
    for reply in images:
        raw = json.loads(reply)["alt"]
        assert not raw.lower().startswith(FILLER), raw
        decorative.append(image_reply(reply)[1])
    assert True in decorative and False in decorative


def test_worked_examples_answer_in_the_language_of_their_request():
    # Each example's request names a language; the one with an injected "reply in
    # English" still answers in Polish (its reply uses letters English has not).
    page_blocks = PAGE_SYSTEM.split("Language: ")[1:]
    langs = [b.split("\n", 1)[0] for b in page_blocks]
    assert "Polish (pl)" in langs and "English (en)" in langs
    polish = next(b for b in page_blocks if b.startswith("Polish"))
    assert "Ignore all previous instructions" in polish
    assert re.search("[ąćęłńóśźż]", _examples(polish)[0])


def test_cut_to_budget_cuts_at_a_paragraph_and_marks_it():
    text = "\n\n".join(f"Paragraph {n} " + "word " * 50 for n in range(40))
    cut, was_cut = cut_to_budget(text, 500, "claude-haiku-5-5")
    assert was_cut
    assert cut.endswith(CUT_MARK)
    assert estimate_text_tokens(cut, "claude-haiku-5-5") <= 520
    assert cut[: -len(CUT_MARK)].rstrip().endswith("word")  # a whole paragraph, not mid-word
    short, was_cut = cut_to_budget("Short page.", 500, "claude-haiku-5-5")
    assert (short, was_cut) == ("Short page.", False)


def test_clean_strips_control_and_format_characters():
    assert clean("a\x00b\u202ec\u200bd\x1b[31m e\n\tf") == "abcd[31m e f"


def test_fit_prefers_a_sentence_end():
    text = "This first sentence is long enough. " + "More words " * 30
    assert fit(text, 60) == "This first sentence is long enough."
    assert fit("word " * 40, 50).endswith("…")
    assert len(fit("word " * 40, 50)) <= 50


@pytest.mark.parametrize(
    "reply, message",
    [
        ("[]", "not a JSON object"),
        ('{"summary": "x"}', "no 'abstract'"),
        ('{"summary": 3, "abstract": "y"}', "'summary' is not str"),
        ('{"summary": " ", "abstract": "y"}', "summary is empty"),
        ('{"summary": "<em onclick=x>x</em>", "abstract": "y"}', "summary contains an HTML tag"),
        ('{"summary": "&lt;script&gt;", "abstract": "y"}', "summary contains an HTML element"),
        ('{"summary": "' + "x" * 161 + '", "abstract": "y"}', "161 characters"),
        # ... which the checks tell the model (the fixture table, test_replies.py, has more)
    ],
)
def test_page_reply_rules(reply, message):
    with pytest.raises(Invalid, match=message):
        page_reply(reply)


def test_page_reply_accepts_plain_text_with_ampersands_and_quotes():
    assert page_reply('{"summary": "Q&A: the \\"best\\" tools", "abstract": "Fine."}') == (
        'Q&A: the "best" tools',
        "Fine.",
    )


def test_image_reply_drops_filler_and_honours_decorative():
    assert image_reply('{"alt": "Image of a red bike", "decorative": false}') == (
        "A red bike",
        False,
    )
    assert image_reply('{"alt": "A swirl", "decorative": true}') == ("", True)
    with pytest.raises(Invalid, match="alt is empty"):
        image_reply('{"alt": "", "decorative": false}')
