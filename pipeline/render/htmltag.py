"""The attributes of one raw HTML start tag, each with its exact span in the tag's text.

Editing one attribute of a tag written by someone else must not touch the others: a
regex over the raw text cannot tell an attribute from the same letters inside another
attribute's value (`title="the alt text"`). This follows the tokenizer states of the
HTML standard (13.2.5.32-42, "before attribute name" to "self-closing start tag"), so
an attribute is found exactly where a browser finds it, whatever the quoting, order,
newlines or stray `/`.
"""

from __future__ import annotations

from dataclasses import dataclass

# The standard's ASCII whitespace in a tag; "\r" too, which a browser reads as "\n".
_SPACE = frozenset("\t\n\x0c\r ")


@dataclass(frozen=True)
class Attribute:
    name: str  # ASCII-lowercased, as a browser names it
    value: str | None  # the raw text between the quotes (entities left as written); None: no "="
    start: int  # [start, end) of the whole attribute, name to the end of its value
    end: int


@dataclass(frozen=True)
class StartTag:
    attributes: tuple[Attribute, ...]  # in order, duplicates included (a browser keeps the first)
    # Where a new attribute can go (after a space): after the last attribute, before any
    # trailing space, the self-closing "/" and ">".
    insert_at: int
    # The last attribute has "=" but no value yet (`title= >`): text inserted after it
    # would become its value, so an inserted attribute must first give it "".
    open_value: bool

    def first(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)


def _lower(name: str) -> str:
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in name)


def parse_start_tag(raw: str) -> StartTag:
    """`raw` is one start tag from "<" to its closing ">", as an HTML parser cut it."""
    n = len(raw)
    i = 1
    while i < n and raw[i] not in _SPACE and raw[i] not in "/>":
        i += 1  # the tag name
    attrs: list[Attribute] = []
    after_last = i  # end of the tag name or of the last attribute
    open_value = False
    while i < n:
        c = raw[i]
        if c in _SPACE or c == "/":
            i += 1  # between attributes; a "/" not before ">" is ignored
            continue
        if c == ">":
            break
        # An attribute name: its first character may be "=" (the standard's parse error).
        start = i
        i += 1
        while i < n and raw[i] not in _SPACE and raw[i] not in "/>=":
            i += 1
        name = _lower(raw[start:i])
        name_end = i
        j = i
        while j < n and raw[j] in _SPACE:
            j += 1
        if j >= n or raw[j] != "=":
            attrs.append(Attribute(name, None, start, name_end))
            after_last = name_end
            open_value = False
            continue  # a name with no value; what follows starts over
        j += 1
        while j < n and raw[j] in _SPACE:
            j += 1
        if j >= n or raw[j] == ">":
            # `name= >`: an empty value; insert after the space, or it would become one
            attrs.append(Attribute(name, "", start, j))
            after_last, open_value, i = j, True, j
            continue
        if raw[j] in "\"'":
            close = raw.find(raw[j], j + 1)
            end = n if close < 0 else close + 1
            attrs.append(Attribute(name, raw[j + 1 : end - 1], start, end))
        else:
            end = j
            while end < n and raw[end] not in _SPACE and raw[end] != ">":
                end += 1  # unquoted: "/", quotes and "=" belong to the value
            attrs.append(Attribute(name, raw[j:end], start, end))
        after_last, open_value, i = end, False, end
    return StartTag(tuple(attrs), after_last, open_value)
