"""Students' names: one line for display, and a key for comparison ("  dana   LATE " is Dana Late)."""

from __future__ import annotations

import re
import unicodedata

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_name(raw: str, most: int) -> str:
    """One line of text: runs of whitespace as one space, no control characters (PostgreSQL refuses NUL)."""
    return CONTROL.sub("", re.sub(r"\s+", " ", raw)).strip()[:most]


def display_name(raw: str, most: int = 60) -> str:
    """A name as typed, tidied: NFC, one space between words; "dana LATE" or "DANA LATE" read as Dana Late
    (a name typed all in one case, or shouting its last word, is capitalised; "van der Berg" is left alone)."""
    s = clean_name(unicodedata.normalize("NFC", raw), most)
    words = s.split(" ")
    one_case = all(w.islower() or w.isupper() or not w.isalpha() for w in words)
    if s and one_case and any(w.isupper() and len(w) > 1 for w in words) or s.islower():
        s = " ".join(w[:1].upper() + w[1:].lower() if w.isalpha() else w for w in words)
    return s


def name_key(raw: str, most: int = 60) -> str:
    """The name as compared: NFKC, case-folded, whitespace collapsed."""
    return clean_name(unicodedata.normalize("NFKC", raw).casefold(), most)
