"""Languages: Hindi and Bengali sheets hold the translated words in their text layer, drawn with the shipped
Noto fonts (no missing glyphs), numbers in international digits; the catalogue is compiled and complete."""

from __future__ import annotations

import importlib.util
import io
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pypdf
import pytest

import byhand
from byhand import documents
from byhand.cli import main
from byhand.i18n import LANGUAGES, _, fonts_dir, locale_dir, tr_text, use_language

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "i18n.py"

# words a reader must find on the page, in each language (name line, exercise heading, the task, the level, the legend)
WORDS = {
    "hi": ["नाम", "दिनांक", "अभ्यास 1", "रैखिक परत", "निकालो", "छिपा है", "कठिन", "लगभग", "इनपुट", "उत्तर"],
    "bn": ["নাম", "তারিখ", "রৈখিক স্তর", "বের করো", "কাঠিন্য: কঠিন", "প্রায় 6 মিনিট", "প্রতিটি সারিকে", "উত্তর"],
}
# (Bengali words with a vowel sign below, ু ূ, are left out: the text layer repeats such a cluster, "লুলু কানো" —
# a known defect of the PDF's text map, not of the printed letters)
FONT = {"hi": "NotoSerifDevanagari", "bn": "NotoSerifBengali"}
SCRIPT_RANGE = {"hi": (0x0900, 0x097F), "bn": (0x0980, 0x09FF)}
NATIVE_DIGITS = re.compile("[\u0966-\u096f\u09e6-\u09ef]")


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("byhand_i18n_script", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The text layer as a reader's tool extracts it (poppler's pdftotext shapes Indic clusters correctly)."""
    f = tmp_path / "page.pdf"
    f.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(f), "-"], check=True, capture_output=True, text=True).stdout


def _fonts(pdf: bytes) -> set[str]:
    out = set()
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        for f in page["/Resources"]["/Font"].values():
            out.add(str(f.get_object()["/BaseFont"]))
    return out


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler's pdftotext")
@pytest.mark.parametrize("lang", ["hi", "bn"])
def test_a_hindi_and_a_bengali_page_hold_the_translated_words_in_the_shipped_fonts(lang: str, tmp_path: Path) -> None:
    ex = byhand.make("linear", seed=7, level="hard")  # an inverse problem: a hidden bias, named in the task
    with use_language(lang), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdf = documents.worksheet(ex, fmt="pdf")[0]
    # Typst says "unknown font family" when a named font is missing: the page would fall back to a font
    # without the script (boxes or unshaped letters)
    assert not [w for w in caught if "font" in str(w.message).lower()], [str(w.message) for w in caught]
    text = _pdf_text(pdf, tmp_path)
    flat = re.sub(r"\s+", "", text)  # pdftotext may put a space inside a large cluster ("रै खिक")
    for word in WORDS[lang]:
        assert re.sub(r"\s+", "", word) in flat, (word, text[:600])
    for english in ("Name:", "Date:", "Fill in every bold box", "Answers to exercise", "is hidden", "about 6 min"):
        assert english not in text
    # every letter of the script is drawn with the shipped Noto font of that script
    assert any(FONT[lang] in f for f in _fonts(pdf)), _fonts(pdf)
    # numbers stay in international digits: the sheet's values, the badges, the minutes
    assert not NATIVE_DIGITS.search(text)
    assert "−2" in text and "6" in text


@pytest.mark.parametrize("lang", ["hi", "bn"])
def test_every_letter_of_every_translation_has_a_glyph_in_the_shipped_fonts(lang: str) -> None:
    """A translation that used a letter the fonts lack would print a box: check each letter against the fonts' cmaps."""
    from fontTools.ttLib import TTFont

    name = FONT[lang]
    for weight in ("Regular", "Bold"):
        cmap = TTFont(str(fonts_dir() / f"{name}-{weight}.ttf")).getBestCmap()
        lo, hi = SCRIPT_RANGE[lang]
        po = _script().read(lang)
        for m in po:
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            for s in strings:
                missing = {c for c in s if lo <= ord(c) <= hi and ord(c) not in cmap}
                assert not missing, (m.id, missing)


def test_the_fonts_ship_with_their_licence_and_stay_small() -> None:
    files = sorted(p.name for p in fonts_dir().iterdir())
    assert files == ["NotoSerifBengali-Bold.ttf", "NotoSerifBengali-Regular.ttf", "NotoSerifDevanagari-Bold.ttf",
                     "NotoSerifDevanagari-Regular.ttf", "OFL.txt"]
    assert "SIL Open Font License" in (fonts_dir() / "OFL.txt").read_text() or "SIL OPEN FONT LICENSE" in (
        fonts_dir() / "OFL.txt").read_text()
    assert sum(p.stat().st_size for p in fonts_dir().iterdir()) < 1_200_000


def test_the_committed_mo_files_are_the_po_files_compiled() -> None:
    from babel.messages.mofile import write_mo

    mod = _script()
    for lang in ("hi", "bn"):
        buf = io.BytesIO()
        write_mo(buf, mod.read(lang), use_fuzzy=False)
        assert (locale_dir() / lang / "LC_MESSAGES" / "byhand.mo").read_bytes() == buf.getvalue(), (
            f"{lang}: run python scripts/i18n.py compile")


def test_sentences_are_looked_up_with_their_numbers_as_placeholders() -> None:
    with use_language("hi"):
        assert tr_text("Run all 6 layers forward: [W | b]·[A ; 1], then ReLU, layer after layer.") == (
            "सभी 6 परतों को आगे चलाओ: [W | b]·[A ; 1], फिर ReLU, एक परत के बाद दूसरी।")
        # a hidden cell: the maths kept, the words translated
        assert tr_text("b[4] is hidden: find it from a·b.") == "b[4] छिपा है: इसे a·b से निकालो।"
        assert tr_text("2 (2 > 0: stays)") == "2 (2 > 0: वैसा ही रहता है)"
        # sentence by sentence; a sentence nobody translated yet stays English rather than vanish
        two = tr_text("Find the missing entry of b so that a·b is the product given. A sentence nobody wrote yet.")
        assert two == "b की छूटी हुई प्रविष्टि ढूँढ़ो, ताकि a·b दिया गया गुणनफल बने। A sentence nobody wrote yet."
        assert _("Answer key") == "उत्तर कुंजी"
    with use_language("bn"):
        assert _("Answer key") == "উত্তরমালা"
    assert _("Answer key") == "Answer key"  # the language ends with its block
    assert tr_text("Run all 6 layers forward: [W | b]·[A ; 1], then ReLU, layer after layer.").startswith("Run all 6")


def test_the_cli_speaks_the_language_asked_for_one_run_at_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["make", "linear", "--seed", "7", "--level", "hard", "--lang", "bn"]) == 0
    out = capsys.readouterr().out
    assert "রৈখিক স্তর" in out and "5টি শূন্যস্থান [1] … [5] পূরণ করো।" in out
    assert main(["make", "linear", "--seed", "7", "--level", "hard", "--format", "key", "--lang", "hi"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("उत्तर — byhand:linear:seed=7") and "छिपा है" in out
    assert main(["make", "linear", "--seed", "7", "--level", "hard"]) == 0  # the next run: English again
    assert "Fill the 5 blanks" in capsys.readouterr().out
    assert main(["topics", "--lang", "hi"]) == 0
    assert "डॉट गुणनफल" in capsys.readouterr().out
    assert main(["make", "linear", "--lang", "fr"]) == 2
    assert "fr" in capsys.readouterr().err


def test_languages_are_named_in_themselves() -> None:
    assert LANGUAGES == {"en": "English", "hi": "हिन्दी", "bn": "বাংলা"}


def test_the_untranslated_report_runs_and_says_how_many(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(SCRIPT), "report"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for lang in ("hi", "bn"):
        assert re.search(rf"^{lang}: \d+ of \d+ messages translated, \d+ untranslated$", r.stdout, re.M), r.stdout


def test_every_message_of_the_committed_catalogue_is_translated() -> None:
    """The .pot is what was extracted when the translations were last updated: all of it is translated.
    (Messages added since, e.g. by a new chapter, are listed by the report until someone translates them.)"""
    from babel.messages.pofile import read_po

    mod = _script()
    with (locale_dir() / "byhand.pot").open("rb") as f:
        pot = read_po(f)
    for lang in ("hi", "bn"):
        assert mod.missing(lang, pot) == []


def test_a_new_chapters_sentence_is_reported_as_untranslated(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A chapter added later marks nothing: its sentences are found in the registry, and the report names the new ones."""
    mod = _script()
    real = mod._chapter_messages
    monkeypatch.setattr(mod, "_chapter_messages",
                        lambda: [*real(), ("Attend to every key with 3 queries.", "chapter attention instructions")])
    assert mod.report(strict=False) == 0
    out = capsys.readouterr().out
    assert "hi untranslated: 'Attend to every key with 3 queries.'  (chapter attention instructions)" in out
    assert "bn untranslated: 'Attend to every key with 3 queries.'" in out
    assert mod.report(strict=True) == 1


def test_the_extraction_reads_every_chapter_of_the_registry() -> None:
    """Nothing in a chapter module needs marking: titles, summaries, option help and instructions (numbers as {0})
    come from the registry, so the chapters other people add are extracted the same way."""
    from byhand.topics import registry

    pot = _script().template()
    for m in registry().values():
        assert pot.get(m.TITLE) is not None and pot.get(m.SUMMARY) is not None, m.NAME
    assert pot.get("Run all {0} layers forward: [W | b]·[A ; {1}], then ReLU, layer after layer.") is not None
    assert pot.get("{cell} is hidden: find it from {relation}.") is not None


def test_check_speaks_hindi(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ex = tmp_path / "ex.json"
    ans = tmp_path / "answers.json"
    assert main(["make", "linear", "--seed", "7", "--level", "medium", "--format", "json", "-o", str(ex)]) == 0
    ans.write_text('{"1": "-8", "2": "−2", "3": "abc"}')
    capsys.readouterr()
    assert main(["check", str(ex), str(ans), "--lang", "hi"]) == 0
    out = capsys.readouterr().out
    assert "[1] ✗ गलत '-8'" in out and "[2] ✓ सही '−2'" in out and "[3] ? संख्या नहीं है 'abc'" in out
    assert "[4] · खाली" in out and "अंक: 1/6 (17%)" in out
    # the error is in Hindi too, its file name kept as it is
    assert main(["check", str(ex), str(tmp_path / "nope.json"), "--lang", "hi"]) == 2
    assert capsys.readouterr().err == f"byhand: त्रुटि: उत्तर फ़ाइल {tmp_path / 'nope.json'} मौजूद नहीं है\n"
