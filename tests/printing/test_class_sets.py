"""Class sets in pieces (the same pages and text as one piece, the same bytes every time) and sealed
codes (nothing on the page `byhand make` can use; `byhand key` with the secret opens them)."""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

import byhand
from byhand import documents
from byhand.errors import ByHandError
from byhand.printing.join import join_pdfs
from byhand.render.text import render_key
from byhand.seal import LEVELS, TOPIC_IDS, Seal, SealError, looks_sealed
from tests.printing.test_print import SEALED, pdf_pages, run

pytestmark = pytest.mark.filterwarnings("ignore::byhand.printing.errors.PrintWarning")

TOPICS = ["linear", "relu", "softmax"]
SEAL = Seal(bytes(range(32)), source="the test secret")


# -- pieces ---------------------------------------------------------------------------------------


def test_a_class_set_in_pieces_reads_as_one_piece() -> None:
    """60 students compiled 5 at a time and joined: the same pages, with the same text, as the
    whole class compiled at once; and each student's pages count from 1."""
    pieces, _ = documents.class_set(TOPICS, students=60, seed=300, chunk=5)
    whole, _ = documents.class_set(TOPICS, students=60, seed=300, chunk=60)
    a, b = pdf_pages(pieces), pdf_pages(whole)
    assert len(a) == len(b) >= 120
    assert a == b
    ra, rb = PdfReader(io.BytesIO(pieces)), PdfReader(io.BytesIO(whole))
    assert [p.mediabox for p in ra.pages] == [p.mediabox for p in rb.pages]
    assert ra.metadata.title == "Linear layer · Activation: ReLU · Softmax (base 3)"
    footers = [re.search(r"Student (\d+) page (\d+) of (\d+)", p) for p in a]
    assert all(footers)
    for k in (1, 37, 60):
        mine = [(int(m.group(2)), int(m.group(3))) for m in footers if m and int(m.group(1)) == k]
        assert mine == [(i, len(mine)) for i in range(1, len(mine) + 1)]


def test_the_same_command_gives_the_same_bytes() -> None:
    one = documents.class_set(TOPICS, students=7, seed=5, seal=SEAL)
    two = documents.class_set(TOPICS, students=7, seed=5, seal=SEAL)
    assert one == two
    other = documents.class_set(TOPICS, students=7, seed=5, seal=Seal(b"another secret of 32 bytes......"))
    assert other[0] != one[0]


def test_join_keeps_every_page_in_order() -> None:
    a = documents.worksheet(byhand.make("linear", seed=1))[0]
    b = documents.worksheet([byhand.make("backprop", seed=2), byhand.make("softmax", seed=3)])[0]
    joined = join_pdfs([a, b, a], title="three")
    assert pdf_pages(joined) == pdf_pages(a) + pdf_pages(b) + pdf_pages(a)
    assert PdfReader(io.BytesIO(joined)).metadata.title == "three"
    assert joined == join_pdfs([a, b, a], title="three")
    if shutil.which("pdftoppm"):  # a real PDF reader opens it without complaint
        r = subprocess.run(["pdftoppm", "-r", "20", "-png", "-f", "2", "-l", "2", "-", "/dev/null"], input=joined,
                           capture_output=True)
        assert r.returncode == 0 and b"Error" not in r.stderr


def test_a_long_key_comes_in_pieces_with_its_students_named() -> None:
    _, key = documents.class_set(["dot"], students=45, seed=1, solutions=True)
    pages = pdf_pages(key)
    assert any("students 1–40" in p for p in pages) and any("students 41–45" in p for p in pages)
    assert any("Worked solutions" in p and "students 1–10" in p for p in pages)
    text = "\n".join(pages)
    for k in (1, 40, 45):
        ex = byhand.make("dot", seed=1 + k, level="medium")
        assert re.sub(r"\s+", "", ex.identity) in re.sub(r"\s+", "", text)


# -- the seal ---------------------------------------------------------------------------------------


@given(st.sampled_from(TOPIC_IDS), st.integers(-(2**37), 2**37 - 1), st.sampled_from(LEVELS))
def test_a_code_opens_to_its_variant(topic: str, seed: int, level: str) -> None:
    code = SEAL.code(topic, seed, level)
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", code) and looks_sealed(code)
    v = SEAL.open(code)
    assert (v.topic, v.seed, v.level) == (topic, seed, level)
    assert SEAL.open(code.lower().replace("-", " ")) == v  # as typed
    assert SEAL.open(SEAL.qr_text(code)) == v  # as scanned


def test_every_typo_is_caught_and_another_secret_does_not_open() -> None:
    code = SEAL.code("linear", 101, "medium")
    chars = code.replace("-", "")
    for i in range(len(chars)):
        for c in "0K":
            if c != chars[i]:
                typo = chars[:i] + c + chars[i + 1:]
                with pytest.raises(SealError):
                    SEAL.open(typo)
    with pytest.raises(SealError, match="not sealed with the test secret"):
        Seal(b"x" * 32, source="the test secret").open(code)
    with pytest.raises(SealError, match="typo"):
        SEAL.open(chars[:-2] + ("00" if chars[-2:] != "00" else "11"))


def test_codes_say_nothing_about_their_seeds() -> None:
    """Neighbouring seeds give unrelated codes: no character of the code follows the seed."""
    codes = [SEAL.code("linear", s, "medium").replace("-", "") for s in range(1000, 1400)]
    assert len(set(codes)) == 400
    for pos in range(20):
        column = [c[pos] for c in codes]
        # every position takes (nearly) every one of the 32 characters; the 18th holds the last 3 bits
        values = 8 if pos == 17 else 32
        assert len(set(column)) >= values - 4 * (values // 32)
        # and does not stay put from seed to seed (by chance: 399 / values times)
        assert sum(a == b for a, b in zip(column, column[1:])) < 2 * 399 / values
    with pytest.raises(ByHandError, match="too large"):
        SEAL.code("linear", 2**40, "medium")


# -- the command line ----------------------------------------------------------------------------------


def _png_pages(pdf: Path, tmp: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(pdf), str(tmp / "page")], check=True)
    return sorted(tmp.glob("page-*.png"))


def test_a_sealed_class_set_opens_only_with_its_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm is not installed")
    from PIL import Image

    seed, secret = 7_000_000, tmp_path / "class-secret.txt"
    c, k = tmp_path / "class.pdf", tmp_path / "key.pdf"
    code, _, err = run(["sheet", *TOPICS, "--students", "2", "--seed", str(seed), "-o", str(c), "--key", str(k),
                        "--secret", str(secret)], capsys)
    assert code == 0, err
    assert f"made a new class secret in {secret}" in err and "if it is lost, so are their answer keys" in err
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600

    # the page: a footer with a sealed code under each exercise, and nothing `byhand make` takes
    pages = pdf_pages(c.read_bytes())
    text = "\n".join(pages)
    printed = SEALED.findall(text)
    assert len(printed) == 2 * len(TOPICS)
    assert "seed" not in text and not any(str(seed + s) in text for s in (1, 2))
    for topic in TOPICS:
        assert re.search(rf"{topic} · code [0-9A-Z-]{{23}} · level medium · byhand", text.replace("\n", " "))

    # the QR codes hold the same sealed codes, and nothing else
    qrs = []
    for png in _png_pages(c, tmp_path):
        qrs += [r.text for r in zxingcpp.read_barcodes(Image.open(png))]
    assert sorted(qrs) == sorted(f"BYHAND:SEALED:{p}" for p in printed)
    assert not any("seed" in q or str(seed + 1) in q or str(seed + 2) in q for q in qrs)

    # byhand make cannot use them
    for q in qrs[:1]:
        assert run(["make", q], capsys)[0] == 2

    # byhand key with the secret: exactly the key `byhand make` gives for that student's variant
    code, out, err = run(["key", *qrs, "--secret", str(secret)], capsys)
    assert code == 0, err
    blocks = out.strip().split("\n\n# ")
    assert len(blocks) == len(qrs)
    for q, block in zip(qrs, blocks):
        v = Seal.open(_seal_of(secret), q)
        assert v.seed in (seed + 1, seed + 2) and v.topic in TOPICS
        assert block.split("\n", 1)[1].strip() == render_key(byhand.make(v.topic, seed=v.seed, level="medium")).strip()
    # and the key PDF lists the same codes
    key_text = re.sub(r"\s+", "", "\n".join(pdf_pages(k.read_bytes())))
    assert all(p.replace("-", "") in key_text.replace("-", "") for p in printed)

    # a wrong secret, a typo, no secret: one clear line each
    other = tmp_path / "other.txt"
    assert run(["sheet", "dot", "--students", "1", "-o", str(tmp_path / "o.pdf"), "--secret", str(other)], capsys)[0] == 0
    code, _, err = run(["key", printed[0], "--secret", str(other)], capsys)
    assert code == 2 and err.strip() == (f"byhand: error: code {printed[0]} was not sealed with the class secret {other}; "
                                         "open it with the secret of the class set it came from")
    typo = printed[0][:-1] + ("0" if printed[0][-1] != "0" else "1")
    code, _, err = run(["key", typo, "--secret", str(secret)], capsys)
    assert code == 2 and "has a typo" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(["key", printed[0], "--secret", str(tmp_path / "none.txt")], capsys)
    assert code == 2 and "no class secret at" in err and len(err.strip().splitlines()) == 1


def _seal_of(path: Path) -> Seal:
    from byhand.seal import read_secret

    return Seal(read_secret(path))


def test_the_secret_lives_in_the_config_folder_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], _config_home: Path
) -> None:
    out = tmp_path / "c.pdf"
    code, _, err = run(["sheet", "dot", "--students", "2", "-o", str(out)], capsys)
    where = _config_home / "byhand" / "class-secret.txt"
    assert code == 0 and where.exists() and f"made a new class secret in {where}" in err
    first = out.read_bytes()
    code, _, err = run(["sheet", "dot", "--students", "2", "-o", str(out)], capsys)
    assert code == 0 and f"codes sealed with the class secret {where}" in err
    assert out.read_bytes() == first  # the same secret and command: the same bytes
    printed = SEALED.findall("\n".join(pdf_pages(first)))
    code, out_text, _ = run(["key", printed[0]], capsys)
    assert code == 0 and "Answers — byhand:dot:seed=1:level=medium" in out_text


def test_open_codes_and_the_workbook_keep_their_identity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c.pdf"
    code, _, err = run(["sheet", "linear", "--students", "2", "--seed", "40", "--open-codes", "-o", str(out)], capsys)
    assert code == 0 and "secret" not in err
    text = "\n".join(pdf_pages(out.read_bytes()))
    assert "linear · seed 41 · level medium" in text and not SEALED.search(text)
    code, _, err = run(["sheet", "linear", "--open-codes", "--secret", str(tmp_path / "s.txt")], capsys)
    assert code == 2 and "--open-codes" in err
    book = "\n".join(pdf_pages(documents.book(chapters="1", per_chapter=1)[0]))
    assert "dot · seed 1 · level easy" in book and "sealed codes instead" in book


def test_a_secret_file_that_is_not_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("my shopping list\n")
    code, _, err = run(["sheet", "dot", "--students", "1", "-o", str(tmp_path / "c.pdf"), "--secret", str(bad)], capsys)
    assert code == 2 and "is not a byhand class secret" in err and bad.read_text() == "my shopping list\n"
    assert not (tmp_path / "c.pdf").exists()
    if os.getuid() != 0:  # root reads anything
        locked = tmp_path / "locked.txt"
        locked.write_text("x")
        locked.chmod(0)
        assert run(["key", "VDJ3S-TBCK7-W4D06-TN41A", "--secret", str(locked)], capsys)[0] == 2


def test_typst_pieces_are_copied_as_bytes_and_others_parsed() -> None:
    """A piece as Typst writes it (untagged) takes the byte-copying path; a tagged worksheet, pypdf's;
    both give the pages of the pieces, in order."""
    from byhand.printing.join import _Plain
    from byhand.printing.layout import plan_document
    from byhand.printing.render import compile_data, plan_json

    ex = byhand.make("relu", seed=3)
    plan = plan_document([{"kind": "student", "number": 1}, documents._plan(ex, 1)], paper="a4", answer_strip=False,
                         key=False, title="A title (with 1 0 R in it)", footer="f")
    piece = compile_data(plan_json(plan), "pdf", tags=False)
    tagged = documents.worksheet(ex)[0]
    assert isinstance(piece, bytes) and _Plain.parse(piece) is not None and _Plain.parse(tagged) is None
    joined = join_pdfs([piece, tagged, piece])
    assert pdf_pages(joined) == pdf_pages(piece) + pdf_pages(tagged) + pdf_pages(piece)
    PdfReader(io.BytesIO(joined), strict=True).pages[2].extract_text()


def test_progress_counts_students_then_the_key() -> None:
    calls: list[tuple[int, int]] = []
    documents.class_set(["dot"], students=20, seed=1, progress=lambda done, total: calls.append((done, total)))
    assert all(total == 40 for _, total in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[0] == documents.CHUNK_STUDENTS and 20 in done and done[-1] == 40


def test_key_opens_several_codes_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "s.txt"
    assert run(["sheet", "matmul", "--students", "2", "-o", str(tmp_path / "c.pdf"), "--secret", str(secret)], capsys)[0] == 0
    codes = SEALED.findall("\n".join(pdf_pages((tmp_path / "c.pdf").read_bytes())))
    code, out, err = run(["key", *codes, "--secret", str(secret), "--format", "json"], capsys)
    assert code == 0, err
    import json

    docs = json.loads(out)
    assert [(d["topic"], d["seed"]) for d in docs] == [("matmul", 1), ("matmul", 2)]
    assert byhand.Exercise.from_json(json.dumps(docs[1])).to_json() == byhand.make("matmul", seed=2).to_json()


def test_a_book_in_pieces_reads_as_one_piece() -> None:
    """A book printed a chapter at a time: every page as in the one-piece book, page numbers of the
    whole book, the contents pointing at the same pages, and a bookmark per chapter."""
    whole = documents.book(chapters="1-3", per_chapter=2, solutions=True, pieces=False)[0]
    pieces = documents.book(chapters="1-3", per_chapter=2, solutions=True, pieces=True)[0]
    a, b = pdf_pages(whole), pdf_pages(pieces)
    assert len(a) == len(b) and a[0] == b[0] and a[2:] == b[2:]
    toc = lambda text: re.findall(r"([A-Z][A-Za-z ]+?)[ .]*(\d+)\n", text + "\n")  # noqa: E731
    assert toc(a[1]) == toc(b[1]) and len(toc(b[1])) == 3
    assert f"page {len(b)} of {len(b)}" in b[-1]
    outline = PdfReader(io.BytesIO(pieces)).outline
    assert [o["/Title"] for o in outline] == ["Dot product", "Matrix multiplication", "Linear layer"]


def test_a_sealed_code_given_to_make_points_to_key_and_a_bad_secret_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A student (or teacher) who types a page's code into `byhand make` is told what it is; a secret
    file of random bytes is "not a byhand class secret", never a Python exception's name."""
    code = Seal(bytes(32)).code("linear", 7, "medium")
    for arg in (code, f"BYHAND:SEALED:{code}"):
        rc, _, err = run(["make", arg], capsys)
        assert rc == 2 and "is a sealed code from a class set, not a chapter" in err and "byhand key CODE" in err
    bad = tmp_path / "secret.bin"
    bad.write_bytes(bytes(range(256)))
    rc, _, err = run(["key", code, "--secret", str(bad)], capsys)
    assert rc == 2 and "is not a byhand class secret" in err and "Error" not in err


def test_a_students_first_page_holds_work_not_only_the_name_line() -> None:
    """Linear, ReLU and softmax at medium fit on two pages a student: the first page starts the
    work under the name line. (Exercises once stuck to each other in a chain, with no answer strip
    between them, and pushed all the work, the name line too, past an empty first page.)"""
    sheets, _ = documents.class_set(["linear", "relu", "softmax"], students=2, seed=9, level="medium")
    pages = [p.extract_text() or "" for p in PdfReader(io.BytesIO(sheets)).pages]
    assert len(pages) == 4, len(pages)
    for first in (pages[0], pages[2]):
        assert "Name" in first and "Exercise 1" in first and "Exercise 2" in first
