"""Print: every chapter at every level, no answer leaks, complete keys, QR codes, determinism, errors, CLI."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader

import byhand
from byhand import documents
from byhand.cli import main
from byhand.errors import ByHandError
from byhand.printing import TypstCompileError, render_pdf
from byhand.printing.layout import Rect, plan_exercise
from byhand.printing.render import compile_data

pytestmark = pytest.mark.filterwarnings("ignore::byhand.printing.errors.PrintWarning")

TOPICS = [t.name for t in byhand.topics()]
LEVELS = ("easy", "medium", "hard")


def pdf_pages(pdf: bytes) -> list[str]:
    return [(p.extract_text() or "").replace("\u2212", "-") for p in PdfReader(io.BytesIO(pdf)).pages]


def pdf_text(pdf: bytes) -> str:
    return "\n".join(pdf_pages(pdf))


SEALED = re.compile(r"\b[0-9A-Z]{5}(?:-[0-9A-Z]{5}){3}\b")
"""A sealed code as printed (``VDJ3S-TBCK7-W4D06-TN41A``): letters and digits, not numbers."""


def tokens(text: str) -> Counter[str]:
    text = SEALED.sub("", re.sub(r"page \d+ of \d+|Exercise \d+, continued", "", text))
    return Counter(re.findall(r"-?\d+(?:/\d+)?", text))


def answer_str(v: object) -> str:
    return str(v).replace("−", "-")


def shown_values(d: dict) -> set[str]:
    blank = {(c[0], tuple(c[1])) for b in d["blanks"] for c in b["cells"]}
    out: set[str] = set()

    def walk(name: str, vals: object, idx: tuple[int, ...]) -> None:
        if isinstance(vals, list):
            for i, v in enumerate(vals):
                walk(name, v, (*idx, i))
        elif (name, idx) not in blank:
            out.add(str(vals))

    for name, t in d["tensors"].items():
        walk(name, t["values"], ())
    return out


def unambiguous(exs: list[byhand.Exercise]) -> set[str]:
    """Answers that cannot appear on a student page for another reason: fractions, and negatives no
    shown cell holds (footers, badges and page numbers are never negative)."""
    dicts = [e.to_dict() for e in exs]
    shown = set().union(*(shown_values(d) for d in dicts))
    out = set()
    for d in dicts:
        for b in d["blanks"]:
            a = answer_str(b["answer"])
            if ("/" in a or a.startswith("-")) and a not in shown:
                out.add(a)
    return out


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("topic", TOPICS)
def test_every_chapter_renders_at_every_level(topic: str, level: str) -> None:
    ex = byhand.make(topic, seed=3, level=level)
    plan = plan_exercise(ex.to_dict(), 1)
    blocks = [Rect(b["x"], b["y"], b["cols"] * b["cw"], b["rows"]) for b in plan["blocks"]]
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1:]), "blocks overlap"
    badges = {c["badge"] for b in plan["blocks"] for c in b["cells"] if "badge" in c}
    assert badges == {b.badge for b in ex.blanks}  # every blank is drawn, with its badge
    pdf = documents.worksheet(ex)[0]
    text = pdf_text(pdf)
    assert pdf.startswith(b"%PDF") and ex.title.split()[0] in text
    assert "seed 3" in text and level in text


MIXED = [("linear", 7, "medium"), ("softmax", 2, "medium"), ("backprop", 1, "easy"), ("cross-entropy", 4, "hard"), ("dot", 1, "hard")]


def test_answers_only_in_the_strip() -> None:
    exs = [byhand.make(t, seed=s, level=lv) for t, s, lv in MIXED]
    on = pdf_text(documents.worksheet(exs)[0])
    off = pdf_text(documents.worksheet(exs, answer_strip=False)[0])
    assert "Answers" in on and "Answers" not in off
    hidden = unambiguous(exs)
    assert hidden and any("/" in a for a in hidden)
    for a in hidden:
        assert a not in tokens(off), f"answer {a} leaks onto the student page"
    # strip on − strip off is exactly the strip: each exercise's number, its badges and its answers
    strip: Counter[str] = Counter()
    for i, e in enumerate(exs, start=1):
        strip[str(i)] += 1
        for b in e.to_dict()["blanks"]:
            strip[str(b["badge"])] += 1
            strip[answer_str(b["answer"])] += 1
    assert tokens(on) - tokens(off) == strip
    assert tokens(off) - tokens(on) == Counter()


def test_plan_without_strip_holds_no_answer() -> None:
    ex = byhand.make("softmax", seed=2)
    plan = plan_exercise(ex.to_dict(), 1, with_answers=False)
    assert plan["answers"] == []
    assert all("v" not in c for b in plan["blocks"] for c in b["cells"] if "badge" in c)


def test_class_set_and_key() -> None:
    topics = ["linear", "relu", "softmax"]
    class_pdf, key_pdf = documents.class_set(topics, students=3, seed=100, solutions=True)
    exs = {k: [byhand.make(t, seed=100 + k, level="medium") for t in topics] for k in (1, 2, 3)}
    pages = pdf_pages(class_pdf)
    students_on = [set(re.findall(r"Student (\d+)", p)) for p in pages]
    assert all(len(s) == 1 for s in students_on)  # each student starts on a new page
    firsts = [i for i, s in enumerate(students_on) if i == 0 or s != students_on[i - 1]]
    assert [students_on[i] for i in firsts] == [{"1"}, {"2"}, {"3"}]
    assert all("Name:" in pages[i] and "Date:" in pages[i] for i in firsts)
    text = "\n".join(pages)
    assert "Answers" not in text
    all_ex = [e for v in exs.values() for e in v]
    for a in unambiguous(all_ex):
        assert a not in tokens(text), f"answer {a} on a student page"
    key = pdf_text(key_pdf)
    flat = re.sub(r"\s+", "", key)
    need: Counter[str] = Counter()
    for v in exs.values():
        for e in v:
            assert re.sub(r"\s+", "", e.identity) in flat
            for b in e.blanks:
                need[answer_str(e.to_dict()["blanks"][b.badge - 1]["answer"])] += 1
    assert not need - tokens(key), "the key misses answers"
    assert "Worked solutions" in key
    step = exs[2][0].explain(exs[2][0].blanks[0].cells[0]).replace("−", "-")
    assert re.sub(r"\s+", "", step) in flat


def test_qr_decodes_to_the_identity_of_its_page() -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    exs = [byhand.make("linear", seed=7), byhand.make("relu", seed=5, level="easy"), byhand.make("softmax", seed=1)]
    pngs = documents.worksheet(exs, fmt="png", ppi=200)
    found = []
    for png in pngs:
        img = Image.open(io.BytesIO(png))
        page = [r.text for r in zxingcpp.read_barcodes(img)]
        found.append(page)
    assert sorted(x for p in found for x in p) == sorted(e.identity for e in exs)
    # each page's codes are those of the exercises whose footer is on it
    text_pages = pdf_pages(documents.worksheet(exs)[0])
    for codes, text in zip(found, text_pages):
        for code in codes:
            topic, seed = code.split(":")[1], code.split("seed=")[1].split(":")[0]
            assert f"{topic} · seed {seed}" in text.replace("\n", " ")


def test_same_input_same_bytes() -> None:
    a = documents.worksheet(byhand.make("mlp", seed=7))[0]
    b = documents.worksheet(byhand.make("mlp", seed=7))[0]
    assert a == b
    code = "import sys, byhand; from byhand import documents; sys.stdout.buffer.write(documents.worksheet(byhand.make('mlp', seed=7))[0])"
    c = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert hashlib.sha256(c).hexdigest() == hashlib.sha256(a).hexdigest()
    assert b"CreationDate" not in a


@pytest.mark.parametrize("paper,size", [("a4", (595, 842)), ("letter", (612, 792))])
def test_paper_sizes(paper: str, size: tuple[int, int]) -> None:
    pdf = documents.worksheet(byhand.make("linear", seed=1), paper=paper)[0]
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == size


def test_only_embedded_fonts() -> None:
    pdf = documents.worksheet(byhand.make("softmax", seed=1))[0]
    fonts = set(re.findall(rb"/BaseFont\s*/([A-Za-z0-9+\-]+)", pdf))
    assert fonts and all(any(k in f for k in (b"Libertinus", b"NewCMMath", b"DejaVu")) for f in fonts), fonts


def test_typst_errors_are_wrapped() -> None:
    with pytest.raises(TypstCompileError) as info:
        compile_data(json.dumps({"format": "byhand-print-plan/1", "paper": "a4"}))
    err = info.value
    assert isinstance(err, ByHandError)
    assert "\n" not in str(err) and "Typst" in str(err)
    assert "main.typ" in err.diagnostic and err.message


def test_bad_print_input() -> None:
    with pytest.raises(ByHandError, match="paper"):
        render_pdf([byhand.make("dot", seed=1).to_dict()], paper="a3")
    with pytest.raises(ByHandError, match="students"):
        documents.class_set(["linear"], students=0)
    with pytest.raises(ByHandError, match="no chapter"):
        documents.parse_chapters("linear,nope")


def test_parse_chapters_and_levels() -> None:
    assert [t.chapter for t in documents.parse_chapters("1-3,8")] == [1, 2, 3, 8]
    assert [t.name for t in documents.parse_chapters("softmax, 1")] == ["dot", "softmax"]
    assert len(documents.parse_chapters(None)) == len(TOPICS)
    assert documents.book_levels(6) == ["easy", "easy", "medium", "medium", "hard", "hard"]
    assert documents.book_levels(2) == ["easy", "hard"]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_make_pdf_png_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["make", "linear", "--seed", "7", "--format", "pdf", "-o", str(tmp_path / "linear.pdf")], capsys)
    assert code == 0 and (tmp_path / "linear.pdf").read_bytes().startswith(b"%PDF")
    assert "Answers" in pdf_text((tmp_path / "linear.pdf").read_bytes())
    code, _, _ = run(["make", "linear", "--seed", "7", "--format", "pdf", "--no-answer-strip", "-o", str(tmp_path / "n.pdf")], capsys)
    assert code == 0 and "Answers" not in pdf_text((tmp_path / "n.pdf").read_bytes())
    code, _, _ = run(["make", "mlp", "--seed", "7", "--format", "png", "-o", str(tmp_path / "mlp.png")], capsys)
    assert code == 0 and (tmp_path / "mlp-1.png").read_bytes().startswith(b"\x89PNG")
    code, _, _ = run(["make", "dot", "--format", "svg", "-o", str(tmp_path / "dot.pdf")], capsys)
    assert code == 0 and b"<svg" in (tmp_path / "dot-1.svg").read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))


def test_cli_sheet_and_book(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, k = tmp_path / "class.pdf", tmp_path / "key.pdf"
    code, _, err = run(["sheet", "linear", "relu", "--students", "3", "--seed", "100", "-o", str(c), "--key", str(k), "--solutions",
                        "--paper", "letter", "--level", "easy"], capsys)
    assert code == 0, err
    assert len(PdfReader(c).pages) >= 3 and "Worked solutions" in pdf_text(k.read_bytes())
    b = tmp_path / "part.pdf"
    code, _, err = run(["book", "--chapters", "1-2", "--per-chapter", "2", "--solutions", "-o", str(b)], capsys)
    assert code == 0, err
    text = pdf_text(b.read_bytes())
    assert "Contents" in text and "Dot product" in text and "Matrix multiplication" in text and "Exercise 2.2" in text
    assert "page 3 of" in text


@pytest.mark.parametrize(
    "args,message",
    [
        (["sheet", "linear", "--students", "0"], "between 1 and 500"),
        (["sheet", "linear", "--students", "100000"], "between 1 and 500"),
        (["sheet", "nope", "--students", "2"], "no chapter named 'nope'"),
        (["book", "--chapters", "0-3"], "numbered"),
        (["book", "--chapters", "1", "--per-chapter", "1000"], "per-chapter"),
        (["make", "linear", "--format", "pdf", "-o", "/no/such/folder/x.pdf"], "does not exist"),
        (["make", "linear", "--format", "png", "-o", "-"], "one file per page"),
        (["sheet", "linear", "--paper", "a3"], "a3"),
    ],
)
def test_cli_bad_input(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(args, capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
