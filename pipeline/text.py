"""Plain text every stage needs: cleaned of control characters, cut to fit a limit."""

from __future__ import annotations

import unicodedata


def clean(text: str) -> str:
    """Drop control and format characters (bidi overrides, zero-width) and fold whitespace."""
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\t\n\r":
            kept.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())


def fit(value: str, limit: int) -> str:
    """Cut text to `limit` characters: at a sentence end if one is near, else a word."""
    value = clean(value)
    if len(value) <= limit:
        return value
    head = value[: limit - 1]
    end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if end >= limit // 2:
        return head[: end + 1]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip(" ,;:-") + "…"


def printable(name: str) -> str:
    """A name (a path from the tree, a pull request's) safe to print on one terminal or
    CI-log line: control, format and line-separator characters become `\\xNN` or
    `\\uNNNN`, so a name can neither start a line the CI runner reads as a command
    (`::error ...`) nor send a terminal escape. Backslashes are doubled only when some
    character was escaped, so plain names print as they are."""
    if all(ch.isprintable() or ch == " " for ch in name):
        return name
    out = []
    for ch in name.replace("\\", "\\\\"):
        if ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            code = ord(ch)
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else f"\\u{code:04x}"
                if code < 0x10000
                else f"\\U{code:08x}"
            )
    return "".join(out)
