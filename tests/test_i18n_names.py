"""Names that are words (sampling's ``word`` and ``top 3``, attention's ``3ᶻ masked``, gradient flow's ``∂L/∂h₀ with
skips``, dropout's ``mask``) read in the sheet's language wherever they are shown — the grid's caption, the formula,
the key, the step, the hint — while the exercise file keeps them in English, exactly as before."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from byhand.exercise import Exercise
from byhand.i18n import NAMES, lookup, tr_label, tr_text, use_language
from byhand.notation import cell_label, names, op_written, tensor_caption
from byhand.topics import LEVELS, make, registry
from byhand.web import hints

# the maths a name may hold in any language: function names and a tensor's program-style subscript (A_drop)
MATHS = re.compile(r"diag|tanh|ReLU|softmax|_[a-z]+|\b[A-Z][a-z]{0,2}\b|[A-Z][a-z]\b")
LATIN_WORD = re.compile(r"[a-z]{3,}")
SPACED_CELL = re.compile(r"\(word \(top \d\)\)\[\d,\d\]|\(top \d\)\[\d,\d\]|\(3ᶻ masked\)\[\d,\d\]")


def _word_named(topic: str, level: str, seed: int = 1) -> tuple[Exercise, dict[str, str]]:
    ex = make(topic, seed=seed, level=level)
    english = names(ex).in_english()
    return ex, {k: english.label(k) for k in ex.graph.shapes if LATIN_WORD.search(MATHS.sub("", english.label(k)))}


WORD_NAMED = [(t, lv) for t in registry() for lv in LEVELS if _word_named(t, lv)[1]]


def test_the_chapters_with_names_that_are_words_are_found() -> None:
    assert {t for t, _ in WORD_NAMED} == {"sampling", "attention", "gradient-flow", "dropout"}


@pytest.mark.parametrize("lang", ["hi", "bn"])
@pytest.mark.parametrize(("topic", "level"), WORD_NAMED)
def test_every_name_that_is_a_word_is_translated_and_keeps_its_maths(topic: str, level: str, lang: str) -> None:
    ex, worded = _word_named(topic, level)
    with use_language(lang):
        n = names(ex)
        for name, english in worded.items():
            shown = n.label(name)
            assert shown != english and not LATIN_WORD.search(MATHS.sub("", shown)), (name, english, shown)
            for keep in re.findall(r"[0-9]+|∂L/∂h[₀-₉]|3ᶻ", english):  # the numbers and the maths stay
                assert keep in shown, (english, shown)
            assert shown in tensor_caption(ex, name)
        for o in ex.graph.nodes:  # the written formulas name them the same way
            written = op_written(ex, o)
            assert not any(e in written for e in worded.values() if " " in e), written


@pytest.mark.parametrize("lang", ["hi", "bn"])
def test_the_exercise_file_and_its_steps_keep_the_english_names(lang: str) -> None:
    english = make("sampling", seed=3, level="hard").to_json()
    with use_language(lang):
        ex = make("sampling", seed=3, level="hard")
        d = ex.to_dict()
        assert ex.to_json() == english  # the file does not depend on the language it was made in
        texts = " ".join(s["text"] for s in d["steps"])
        assert "word[1,1] = " in texts and not re.search("[\u0900-\u09ff]", texts)
        assert d["tensors"]["IK"]["label"] == "word (top 3)"
        again = Exercise.from_json(ex.to_json())  # read back (its steps checked) in the reader's language
        assert again.to_json() == english


@pytest.mark.parametrize("lang", ["hi", "bn"])
def test_a_step_a_key_line_and_a_hint_name_a_cell_as_its_grid_does(lang: str) -> None:
    ex = make("sampling", seed=3, level="hard")
    with use_language(lang):
        grid = {cell_label(ex, *c) for b in ex.blanks for c in b.cells}
        word = tr_label("word")
        for b in ex.blanks:
            if b.cells[0][0] != "IK":
                continue
            step = ex.step_for(b.cells[0])
            assert step is not None
            shown = tr_text(step.text)  # "word[1,1] = 3": the cell it copies, named as the grid names it
            assert shown.startswith(word + "[") and shown.split(" = ")[0] in grid | {cell_label(ex, *u) for u in step.uses}
        for b in ex.blanks:
            for rung in (1, 2, 3):
                h = hints.hint(ex, b.badge, rung)
                if h:
                    text = tr_text(h["text"])
                    assert not re.search(r"\bword\b|\btop \d|sampled", text), text


def test_a_name_with_spaces_no_longer_stops_a_sentence_from_being_translated() -> None:
    """A hidden cell named ``(word (top 3))[1,1]``: the sentence around it is found in the catalogue all the same."""
    text = "(word (top 3))[1,1] is hidden: find it from (top 3)[1,1] = 2·1, so (word (top 3))[1,1] = 2"
    with use_language("hi"):
        shown = tr_text(text)
    assert "is hidden" not in shown and "find it" not in shown
    assert shown.count("(शब्द (शीर्ष 3))[1,1]") == 2 and "(शीर्ष 3)[1,1] = 2·1" in shown
    assert tr_text(text, "en") == text


def test_only_names_are_translated_never_the_same_word_in_a_sentence() -> None:
    with use_language("hi"):
        # "word 3" is the sentence's own word (translated with it), "word[2,1]" a name
        assert tr_text("2/5 is in [0, 9/19): rank 1, word 3") == "2/5 [0, 9/19) में है: क्रम 1, शब्द 3"
        assert tr_text("word[2,1] = 5") == "शब्द[2,1] = 5"
        assert tr_text("(3ᶻ masked)[2,1] = 3ᶻ[2,1] = 27") == "(3ᶻ मास्क के बाद)[2,1] = 3ᶻ[2,1] = 27"
        assert tr_text("the tokens masked") == "the tokens masked"  # no maths before "masked": not a name
        assert tr_label("W₂") == "W₂" and tr_label("P′") == "P′"


@pytest.mark.parametrize("lang", ["hi", "bn"])
def test_every_name_pattern_is_translated_in_the_catalogue(lang: str) -> None:
    for msgid, _pattern, _anywhere in NAMES:
        t = lookup(msgid, lang)
        assert t is not None and not LATIN_WORD.search(t.replace("{x}", "").replace("{k}", "").replace("{n}", "")), msgid


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler's pdftotext")
@pytest.mark.parametrize("lang", ["hi", "bn"])
def test_the_printed_sheet_and_key_hold_the_translated_names(lang: str, tmp_path: Path) -> None:
    from byhand.cli import main

    out = tmp_path / "s.pdf"
    assert main(["--lang", lang, "sheet", "sampling", "gradient-flow", "--level", "hard", "--students", "1",
                 "--solutions", "--open-codes", "-o", str(out)]) == 0
    for pdf in (out, tmp_path / "s-key.pdf"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
        # (a cluster with a vowel sign may come out of the text layer repeated, see test_i18n: "word" is checked)
        assert tr_label("word", lang) in text
        assert not re.search(r"\bword\b|\bsampled\b|\btop 3\b|with skips|\bpaths\b", text), pdf.name


def test_the_record_of_a_class_check_keeps_the_files_names() -> None:
    from byhand.web.api import _cell_names

    ex = make("sampling", seed=3, level="hard")
    with use_language("hi"):
        got = _cell_names("sampling-test", 3, "hard", ex)
    assert "word[1,1]" in got.values() and not any(re.search("[\u0900-\u09ff]", v) for v in got.values())
    with use_language("hi"):
        assert tr_text("[22] word[1,1]") == "[22] शब्द[1,1]"  # the gradebook shows it in its language


def test_the_json_of_a_hindi_run_is_the_english_file(tmp_path: Path) -> None:
    from byhand.cli import main

    f = tmp_path / "x.json"
    assert main(["--lang", "hi", "make", "gradient-flow", "--level", "easy", "--seed", "2", "-o", str(f)]) == 0
    d = json.loads(f.read_text())
    assert d["tensors"]["r1"]["label"] == "∂L/∂h₀ with skips"


def test_a_hindi_lms_question_names_and_words_its_grid_in_hindi() -> None:
    """The Moodle/QTI grid's captions: the formula's words, the note and the names, as on the printed sheet."""
    from byhand.export._doc import Doc
    from byhand.export.grid import grid_html

    d = make("sampling", seed=3, level="hard").to_dict()
    with use_language("hi"):
        html = grid_html(Doc(d), lambda badge: f"[{badge}]")
    captions = re.findall(r"<i>(.*?)</i>", html)
    assert any("चयनित = वह शब्द (शीर्ष 3)" in c for c in captions)
    assert not any(re.search(r"\bword\b|\btop \d|sampled|running|whose|holds|largest|cumulative", c) for c in captions)
    assert "<b>दिया गया</b>" in html and "Given" not in html
