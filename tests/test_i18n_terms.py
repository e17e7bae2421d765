"""One English term, one word on the page: the Hindi and Bengali catalogues render each main term of the glossary
(``scripts/i18n_terms.py``) one way, and every translation keeps its English's placeholders, maths and numbers, in
international digits. A reintroduced second rendering ("कारणात्मक मास्क" beside "कॉज़ल मास्क", "ওয়েট" beside
"ওজন"), a lost ``{0}``, a changed ``Z₁`` or a ``३`` fails here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _terms() -> Any:
    spec = importlib.util.spec_from_file_location("byhand_i18n_terms", ROOT / "scripts" / "i18n_terms.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass looks itself up there
    spec.loader.exec_module(mod)
    return mod


T = _terms()
PAIRS = {lang: T.pairs(lang) for lang in T.LANGS}


@pytest.mark.parametrize("lang", T.LANGS)
def test_every_main_term_has_one_rendering(lang: str) -> None:
    found = T.renderings(lang, PAIRS[lang])
    bad = {term.english: [(en, tr) for en, tr in found[term.english].get("avoid", [])]
           for term in T.GLOSSARY if term.main and found[term.english].get("avoid")}
    assert not bad, bad


@pytest.mark.parametrize("lang", T.LANGS)
def test_the_main_terms_are_found_where_the_english_has_them(lang: str) -> None:
    """The glossary is not empty talk: each main term occurs, and nearly every message with it has the rendering."""
    found = T.renderings(lang, PAIRS[lang])
    for term in T.GLOSSARY:
        got = found[term.english]
        ok, none = len(got.get("ok", [])), len(got.get("none", []))
        assert ok >= 1, (term.english, got)
        if term.main:
            assert none <= max(3, ok // 5), (term.english, got.get("none"))


@pytest.mark.parametrize("lang", T.LANGS)
def test_causal_mask_reads_the_same_in_every_message(lang: str) -> None:
    word = {"hi": "कॉज़ल मास्क", "bn": "কজাল মাস্ক"}[lang]
    with_it = [(en, tr) for en, tr in PAIRS[lang] if "causal mask" in en.lower()]
    assert len(with_it) >= 5
    assert all(word in tr for _en, tr in with_it), with_it


@pytest.mark.parametrize("lang", T.LANGS)
def test_every_translation_keeps_its_placeholders_maths_and_numbers(lang: str) -> None:
    bad = [(en, tr, T.form_problems(en, tr)) for en, tr in PAIRS[lang] if T.form_problems(en, tr)]
    assert not bad, bad


# what the checks catch: each line a broken translation of a real message, and what must be said of it
BROKEN = [
    ("Run all {0} layers forward: [W | b]·[A ; 1], then ReLU, layer after layer.",
     "सभी परतों को आगे चलाओ: [W | b]·[A ; 1], फिर ReLU।", "placeholders"),  # {0} lost
    ("Back to %(name)s", "%(name)s %(name)s पर वापस", "placeholders"),  # duplicated
    ("Z₁ = W₁·X + b₁, then A₁ = ReLU(Z₁).", "Z₁ = W₁·X + b, फिर A₁ = ReLU(Z₁)।", "maths"),  # b₁ became b
    ("the hidden cell holds 3ᶻ", "छिपे खाने में 3z है", "maths"),
    ("∂L/∂h₀ with skips", "∂L/∂h₁ स्किप के साथ", "maths"),
    ("at most 16 fit on a sheet", "एक शीट पर अधिकतम 15 आते हैं", "numbers"),
    ("at most 16 fit on a sheet", "একটি শিটে বড়জোর ১৬টি ধরে", "native digits"),
]


@pytest.mark.parametrize(("english", "translation", "problem"), BROKEN)
def test_a_broken_translation_is_named(english: str, translation: str, problem: str) -> None:
    assert any(p.startswith(problem) for p in T.form_problems(english, translation)), T.form_problems(english, translation)


def test_a_case_ending_and_a_dropped_plural_ending_are_not_problems() -> None:
    assert T.form_problems("compare A₂ with A₂′", "A₂-কে A₂′-এর সঙ্গে তুলনা করো") == []
    assert T.form_problems("takes {arity} input{s}", "{arity} इनपुट लेता है") == []
    assert T.form_problems("with a border of {n} zeros", "चारों ओर 0 की {n} किनारी के साथ") == []


@pytest.mark.parametrize("lang", T.LANGS)
def test_a_second_rendering_brought_back_is_caught(lang: str) -> None:
    """Put back what this review removed (one entry per main term it fixed): the glossary check names each."""
    old = {
        "hi": [("attention weights", "अटेंशन वेट"), ("X gives {n} features; use {lo}…{hi}", "X {n} विशेषताएँ देता है"),
               ("ReLU gate: 1 passes, 0 blocks (dash-dotted)", "ReLU द्वार: 1 जाने देता है, 0 रोकता है"),
               ("σ (hard)", "σ (कठोर)"), ("Mask with the causal mask", "कारणात्मक मास्क लगाओ"),
               ("(all %(n)s students, every page)", "(सभी %(n)s छात्र, हर पन्ना)"),
               ("F = σ(Zf) forget gate", "F = σ(Zf) भूलने का गेट"), ("time steps (columns)", "समय-कदम (स्तंभ)"),
               ("key size dₖ", "की का आकार dₖ"), ("This device is signed out.", "यह उपकरण साइन आउट हो गया है।")],
        "bn": [("attention weights", "অ্যাটেনশন ওয়েট"), ("X gives {n} features; use {lo}…{hi}", "X {n}টি বৈশিষ্ট্য দেয়"),
               ("ReLU gate: 1 passes, 0 blocks (dash-dotted)", "ReLU দরজা: 1 যেতে দেয়, 0 আটকায়"),
               ("σ (hard)", "σ (কঠিন)"), ("one shift β hidden", "একটি শিফ্ট β লুকানো"),
               ("the centred batch", "কেন্দ্রিত ব্যাচ"), ("key size dₖ", "কি-এর আকার dₖ")],
    }[lang]
    found = T.renderings(lang, old)
    caught = [en for term in T.GLOSSARY if term.main for en, _tr in found[term.english].get("avoid", [])]
    assert sorted(caught) == sorted(en for en, _tr in old)
