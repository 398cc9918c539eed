"""Which language a page is written in, so every request can name it.

A prompt that only says "write in the page's own language" gets English back for a
Polish post often enough to matter (the instructions are English). So each request
carries `Language: Polish (pl)`, taken, first that applies, from:

1. the page's front matter `lang` or `language`;
2. the i18n file layout of mkdocs-static-i18n: a suffix (`page.fr.md`) or a top folder
   (`fr/page.md`), only when the code is a language we know;
3. the site's: mkdocs-static-i18n's default language (its unsuffixed pages are in it),
   else `theme.language` (Material) or `theme.locale` (mkdocs theme);
4. else the text itself, by py3langid: its model ships inside the package (no download
   at run time), it is deterministic, small, and right on a short paragraph of the
   languages we test (en, de, fr, es, pl, ja, zh and more).

Only codes whose primary subtag is in `NAMES` are accepted from the page, and the line
is built from our own table, so a hostile `lang:` cannot put text into the request.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

# English names of the languages py3langid knows, plus a few common site languages.
NAMES = {
    "af": "Afrikaans", "am": "Amharic", "an": "Aragonese", "ar": "Arabic",
    "as": "Assamese", "az": "Azerbaijani", "be": "Belarusian", "bg": "Bulgarian",
    "bn": "Bengali", "br": "Breton", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech",
    "cy": "Welsh", "da": "Danish", "de": "German", "dz": "Dzongkha", "el": "Greek",
    "en": "English", "eo": "Esperanto", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fil": "Filipino", "fo": "Faroese",
    "fr": "French", "ga": "Irish", "gl": "Galician", "gu": "Gujarati", "he": "Hebrew",
    "hi": "Hindi", "hr": "Croatian", "ht": "Haitian Creole", "hu": "Hungarian",
    "hy": "Armenian", "id": "Indonesian", "is": "Icelandic", "it": "Italian",
    "ja": "Japanese", "jv": "Javanese", "ka": "Georgian", "kk": "Kazakh", "km": "Khmer",
    "kn": "Kannada", "ko": "Korean", "ku": "Kurdish", "ky": "Kyrgyz", "la": "Latin",
    "lb": "Luxembourgish", "lo": "Lao", "lt": "Lithuanian", "lv": "Latvian",
    "mg": "Malagasy", "mk": "Macedonian", "ml": "Malayalam", "mn": "Mongolian",
    "mr": "Marathi", "ms": "Malay", "mt": "Maltese", "my": "Burmese",
    "nb": "Norwegian Bokmål", "ne": "Nepali", "nl": "Dutch", "nn": "Norwegian Nynorsk",
    "no": "Norwegian", "oc": "Occitan", "or": "Odia", "pa": "Punjabi", "pl": "Polish",
    "ps": "Pashto", "pt": "Portuguese", "qu": "Quechua", "ro": "Romanian",
    "ru": "Russian", "rw": "Kinyarwanda", "se": "Northern Sami", "si": "Sinhala",
    "sk": "Slovak", "sl": "Slovenian", "sq": "Albanian", "sr": "Serbian",
    "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "th": "Thai",
    "tl": "Tagalog", "tr": "Turkish", "ug": "Uyghur", "uk": "Ukrainian", "ur": "Urdu",
    "uz": "Uzbek", "vi": "Vietnamese", "vo": "Volapük", "wa": "Walloon",
    "xh": "Xhosa", "zh": "Chinese", "zu": "Zulu",
}  # fmt: skip

DEFAULT = "en"
# Below this many letters a detector guesses; the site's default is the better bet.
_MIN_LETTERS = 12
_TAG = re.compile(r"^([a-z]{2,3})(?:[-_]([a-z]{4}))?(?:[-_]([a-z]{2}|\d{3}))?$", re.I)


@dataclass(frozen=True)
class Language:
    code: str  # BCP 47, e.g. "pl", "pt-BR", "zh-Hant"
    source: str  # front matter | file name | folder | theme.language | detected | default

    @property
    def name(self) -> str:
        return NAMES[self.code.split("-")[0]]

    @property
    def line(self) -> str:
        return f"Language: {self.name} ({self.code})"


def normalize(tag: object) -> str | None:
    """A BCP 47 tag in canonical case (`pt-BR`, `zh-Hant`), or None if we do not know it."""
    if not isinstance(tag, str):
        return None
    m = _TAG.match(tag.strip())
    if not m or m.group(1).lower() not in NAMES:
        return None
    lang, script, region = m.group(1).lower(), m.group(2), m.group(3)
    parts = [lang]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)


def from_path(rel: str) -> tuple[str, str] | None:
    """(code, "file name" | "folder") from the mkdocs-static-i18n layouts."""
    stem = posixpath.splitext(posixpath.basename(rel))[0]
    if "." in stem:
        code = normalize(stem.rsplit(".", 1)[1])
        if code:
            return code, "file name"
    top = rel.split("/", 1)
    if len(top) == 2:
        code = normalize(top[0])
        if code:
            return code, "folder"
    return None


def theme_language(theme: object) -> str | None:
    """The site's language from mkdocs.yml `theme:` (a name alone has none)."""
    if not isinstance(theme, dict):
        return None
    return normalize(theme.get("language")) or normalize(theme.get("locale"))


def i18n_default(plugins: object) -> str | None:
    """The default language of mkdocs-static-i18n from mkdocs.yml `plugins:` (the one its
    unsuffixed pages are in), or None without the plugin or a default."""
    entries = plugins.items() if isinstance(plugins, dict) else []
    if isinstance(plugins, list):
        entries = [e for p in plugins if isinstance(p, dict) for e in p.items()]
    for name, options in entries:
        if name != "i18n" or not isinstance(options, dict):
            continue
        for lang in options.get("languages") or ():
            if isinstance(lang, dict) and lang.get("default") is True:
                return normalize(lang.get("locale"))
    return None


_identifier = None


def detect(text: str) -> str | None:
    """The language of a paragraph or more, or None when the text is too short to tell."""
    if sum(ch.isalpha() for ch in text[:2000]) < _MIN_LETTERS:
        return None
    global _identifier
    if _identifier is None:
        # Loads its bundled model (about 1 s) only when needed. No stubs: py3langid ships
        # no py.typed and there is no types- package for it.
        import py3langid  # type: ignore[import-untyped]

        _identifier = py3langid
    code, _score = _identifier.classify(text[:4000])
    return code if code in NAMES else None


def closest(text: str, candidates: list[str]) -> str | None:
    """Which of `candidates` `text` is written in: the detected language when it is one of
    them, else the candidate the detector ranks highest; None when the text is too short
    to tell (an alt of a few words) or when `candidates` is empty."""
    if not candidates or sum(ch.isalpha() for ch in text[:2000]) < _MIN_LETTERS:
        return None
    detect(text)  # loads the model
    assert _identifier is not None
    by_subtag = {c.split("-")[0]: c for c in candidates}
    for code, _score in _identifier.rank(text[:4000]):
        if code in by_subtag:
            return by_subtag[code]
    return None


def resolve(meta: dict, rel: str, site_language: str | None, text: str) -> Language:
    """The language of one page, first source that applies (see the module docstring)."""
    for key in ("lang", "language"):
        code = normalize(meta.get(key)) if isinstance(meta, dict) else None
        if code:
            return Language(code, "front matter")
    found = from_path(rel)
    if found:
        return Language(*found)
    if site_language:
        return Language(site_language, "theme.language")
    code = detect(text)
    if code:
        return Language(code, "detected")
    return Language(DEFAULT, "default")
