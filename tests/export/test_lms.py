"""LMS export: Moodle XML (Cloze questions) and QTI 1.2 for Canvas. No schema ships in a package
we can install offline, so the tests check structure the importers rely on and round-trip every
answer through byhand's own checker."""

from __future__ import annotations

import io
import json
import re
import zipfile
from fractions import Fraction
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

import byhand
from byhand.cli import main
from byhand.engine import values as V
from byhand.export.lms import accepted_texts, cloze_code, decimal_str, moodle_xml, qti_zip, rounded_decimals, tolerance

Q = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
CLOZE = re.compile(r"<sup>\[(\d+)\]</sup>\{1:NUMERICAL:=([^}#]+)\}")
TOPICS = ["linear", "softmax", "backprop"]
N = 40


def _answers(body: str) -> list[tuple[str, str]]:
    """A NUMERICAL code's full-credit answers: ``0.409:0~%100%0.4091:0`` → [(0.409, 0), (0.4091, 0)]."""
    out = []
    for part in body.split("~%100%"):
        ans, tol = part.split(":")
        out.append((ans, tol))
    return out


def _ok(ex: byhand.Exercise, badge: int, text: str) -> bool:
    """Does byhand's own checker accept `text` for this badge?"""
    return next(v for v in ex.check({str(badge): text}).verdicts if v.badge == badge).correct


def _exercise(identity: str) -> byhand.Exercise:
    """Make an exercise again from the identity the export carries (byhand:topic:seed=7:level=medium:v=…)."""
    parts = dict(p.split("=", 1) for p in identity.split(":")[2:] if "=" in p)
    return byhand.make(identity.split(":")[1], seed=int(parts["seed"]), level=parts["level"])


@pytest.fixture(scope="module")
def moodle(tmp_path_factory: pytest.TempPathFactory) -> ET.Element:
    out = tmp_path_factory.mktemp("lms") / "bank.xml"
    assert main(["export", *TOPICS, "--students", str(N), "--seed", "100", "--format", "moodle", "-o", str(out)]) == 0
    return ET.parse(out).getroot()  # well-formed, or this raises


@pytest.fixture(scope="module")
def qti(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("lms") / "quiz.zip"
    assert main(["export", *TOPICS, "--students", str(N), "--seed", "100", "--format", "qti", "-o", str(out)]) == 0
    return zipfile.ZipFile(io.BytesIO(out.read_bytes()))


def test_moodle_structure(moodle: ET.Element) -> None:
    assert moodle.tag == "quiz"
    qs = moodle.findall("question")
    cats = [q for q in qs if q.get("type") == "category"]
    cloze = [q for q in qs if q.get("type") == "cloze"]
    assert len(cats) == len(TOPICS) and len(cloze) == len(TOPICS) * N
    assert {c.findtext("category/text").split("(")[-1].rstrip(")") for c in cats} == set(TOPICS)
    assert all(c.findtext("category/text").startswith("$course$/top/byhand/") for c in cats)
    # each category is followed by its own chapter's questions
    current = None
    for q in qs:
        if q.get("type") == "category":
            current = q.findtext("category/text").split("(")[-1].rstrip(")")
        else:
            assert q.findtext("idnumber").split(":")[1] == current
    ids = [q.findtext("idnumber") for q in cloze]
    assert len(set(ids)) == len(ids)
    for q in cloze:
        assert q.find("questiontext").get("format") == "html"
        assert q.findtext("name/text")


def test_moodle_round_trip_every_answer(moodle: ET.Element) -> None:
    seen: set[str] = set()
    for q in moodle.findall("question[@type='cloze']"):
        ex = _exercise(q.findtext("idnumber"))
        variant = json.dumps([ex.topic, ex.to_dict()["tensors"]], sort_keys=True)
        assert variant not in seen  # N different variants of each chapter, not N seeds of one
        seen.add(variant)
        html = q.findtext("questiontext/text")
        codes = {int(b): _answers(body) for b, body in CLOZE.findall(html)}
        assert len(CLOZE.findall(html)) == len(codes) == html.count("{1:NUMERICAL")  # one box per badge
        assert sorted(codes) == [b.badge for b in ex.blanks], q.findtext("idnumber")
        assert "<table" in html and "Type integers as they are" in html
        p = ex.precision
        for b in ex.blanks:
            answers = codes[b.badge]
            where = (q.findtext("idnumber"), b.badge, b.answer, answers)
            # every answer Moodle gives full credit for is an answer byhand accepts …
            for ans, _ in answers:
                assert _ok(ex, b.badge, ans), where
            exact = Fraction(b.answer)
            if isinstance(b.answer, float):
                # … and an inexact value's window [ans − tol, ans + tol] is byhand's: just inside is accepted, just outside not
                ((ans, tol),) = answers
                a, t = Fraction(ans), Fraction(tol)
                assert abs(exact - a) < Fraction(1, 10**8) and t == Fraction(1, 2 * 10**p)
                eps = Fraction(1, 10**8)
                for inside, outside in ((a - t + eps, a - t - eps), (a + t - eps, a + t + eps)):
                    assert _ok(ex, b.badge, f"{float(inside):.10f}")
                    assert not _ok(ex, b.badge, f"{float(outside):.10f}")
                continue
            assert all(tol == "0" for _, tol in answers), where  # a fraction is typed exactly or rounded exactly
            numbers = {Fraction(ans) for ans, _ in answers}
            if V.terminates(b.answer):
                assert numbers == {exact}, where  # the exact decimal only: 0.015625 for 1/64, never 0.016
                short = V.rounded(exact, p)
                if short != exact:
                    assert not _ok(ex, b.badge, f"{float(short):.{p}f}"), where
                continue
            # a fraction that never ends: every correctly rounded decimal from p to p + 4 places, nothing else
            assert numbers == {V.rounded(exact, k) for k in range(p, p + 5)}, where
            unit = Fraction(1, 10**p)
            eps = Fraction(1, 10**8)
            finer = [V.rounded(exact, p + 1) + d for d in (unit / 10, -unit / 10)]  # one place more, off by one
            for wrong, places in (
                (exact - unit / 2 + eps, 10),  # the old window's edges (0.4085909190 for 9/22)
                (exact + unit / 2 - eps, 10),
                (V.rounded(exact, p) + unit, p),  # rounded the wrong way (0.410, 0.408)
                (V.rounded(exact, p) - unit, p),
                # 0.4092, 0.4090; Moodle compares numbers, so a trailing-zero spelling of its answer (0.9420 for 81/86,
                # which byhand marks wrong) is accepted there: the one difference Moodle cannot express
                *[(f, p + 1) for f in finer if f != V.rounded(exact, p)],
            ):
                text = f"{float(wrong):.{places}f}"
                assert Fraction(text) not in numbers and not _ok(ex, b.badge, text), (where, text)
        fb = q.findtext("generalfeedback/text")
        assert fb.startswith("<p><b>Worked solution</b>") and fb.count("<li>") >= len(ex.blanks)


def test_qti_package(qti: zipfile.ZipFile) -> None:
    names = qti.namelist()
    assert "imsmanifest.xml" in names
    man = ET.fromstring(qti.read("imsmanifest.xml"))
    assert man.tag == f"{CP}manifest"
    res = man.findall(f"{CP}resources/{CP}resource")
    assert [r.get("type") for r in res] == ["imsqti_xmlv1p2", "associatedcontent/imscc_xmlv1p1/learning-application-resource"]
    for r in res:  # every file the manifest names is in the zip
        assert all(f.get("href") in names for f in r.findall(f"{CP}file"))
    assert res[0].find(f"{CP}dependency").get("identifierref") == res[1].get("identifier")
    href = res[0].find(f"{CP}file").get("href")
    meta = ET.fromstring(qti.read(res[1].find(f"{CP}file").get("href")))
    assert meta.tag == "{http://canvas.instructure.com/xsd/cccv1p0}quiz"
    assert meta.get("identifier") == res[0].get("identifier")
    assert meta.findtext("{http://canvas.instructure.com/xsd/cccv1p0}allowed_attempts") == "1"
    root = ET.fromstring(qti.read(href))
    assert root.tag == f"{Q}questestinterop"
    groups = root.findall(f"{Q}assessment/{Q}section/{Q}section")
    assert len(groups) == len(TOPICS)
    per_item = [
        float(g.findtext(f"{Q}selection_ordering/{Q}selection/{Q}selection_extension/{Q}points_per_item")) for g in groups
    ]
    assert float(meta.findtext("{http://canvas.instructure.com/xsd/cccv1p0}points_possible")) == sum(per_item)
    for g, topic in zip(groups, TOPICS):
        assert g.get("title").endswith(f"({topic})")
        assert g.findtext(f"{Q}selection_ordering/{Q}selection/{Q}selection_number") == "1"
        items = g.findall(f"{Q}item")
        assert len(items) == N
        assert len({i.get("ident") for i in items}) == N


def test_qti_round_trip_every_answer(qti: zipfile.ZipFile) -> None:
    root = ET.fromstring(
        qti.read([n for n in qti.namelist() if n not in ("imsmanifest.xml",) and not n.endswith("assessment_meta.xml")][0])
    )
    for item in root.iter(f"{Q}item"):
        meta = {f.findtext(f"{Q}fieldlabel"): f.findtext(f"{Q}fieldentry") for f in item.iter(f"{Q}qtimetadatafield")}
        assert meta["question_type"] == "fill_in_multiple_blanks_question"
        text = item.findtext(f"{Q}presentation/{Q}material/{Q}mattext")
        ex = _exercise(re.search(r"<small>(byhand:[^<]+)</small>", text).group(1))
        assert float(meta["points_possible"]) == len(ex.blanks)
        lids = item.findall(f"{Q}presentation/{Q}response_lid")
        assert [lid.get("ident") for lid in lids] == [f"response_b{b.badge}" for b in ex.blanks]
        for b, lid in zip(ex.blanks, lids):
            assert text.count(f"[b{b.badge}]") == 1  # the blank's box, in its cell of the grid
            accepted = [m.text for m in lid.iter(f"{Q}mattext")][1:]
            assert accepted
            for t in accepted:  # every spelling Canvas accepts, byhand accepts
                assert _ok(ex, b.badge, t), (b.badge, t, b.answer)
            if isinstance(b.answer, float):
                assert f"{b.answer:.{ex.precision}f}" in accepted
            elif V.terminates(b.answer):
                assert decimal_str(b.answer, ex.precision) in accepted  # the exact decimal, 0.015625 for 1/64
                assert all(Fraction(t.replace("−", "-")) == Fraction(b.answer) for t in accepted)
            else:  # the fraction and its decimal rounded correctly to 3 … 7 places
                assert f"{b.answer.numerator}/{b.answer.denominator}" in accepted
                assert set(rounded_decimals(b.answer, ex.precision)) <= set(accepted)
        # scoring: one respcondition per blank, shares summing to 100
        adds = [float(s.text) for s in item.iter(f"{Q}setvar") if s.get("action") == "Add"]
        assert len(adds) == len(ex.blanks) and abs(sum(adds) - 100) < 0.1
        fb = item.find(f"{Q}itemfeedback/{Q}flow_mat/{Q}material/{Q}mattext").text
        assert "Worked solution" in fb


def test_numbers() -> None:
    assert decimal_str(Fraction(3, 4), 3) == "0.75" and tolerance(Fraction(3, 4), 3) == "0"
    assert decimal_str(Fraction(1, 64), 3) == "0.015625" and tolerance(Fraction(1, 64), 3) == "0"
    assert decimal_str(Fraction(3, 14), 3) == "0.214" and tolerance(Fraction(3, 14), 3) == "0"
    assert decimal_str(-7, 3) == "-7" and tolerance(-7, 3) == "0"
    assert decimal_str(Fraction(-1, 3), 2) == "-0.33"
    assert decimal_str(Fraction(1, 2**40), 3) == format(Fraction(1, 2**40).numerator / 2**40, ".40f")  # exact, all 40 places
    assert tolerance(0.7310585786300049, 3) == "0.0005"
    assert cloze_code(Fraction(9, 22), 3) == (
        "{1:NUMERICAL:=0.409:0~%100%0.4091:0~%100%0.40909:0~%100%0.409091:0~%100%0.4090909:0}"
    )
    assert cloze_code(Fraction(10, 33), 3) == "{1:NUMERICAL:=0.303:0~%100%0.30303:0~%100%0.3030303:0}"  # 0.3030 is 0.303
    assert cloze_code(Fraction(1, 64), 3) == "{1:NUMERICAL:=0.015625:0}"
    assert cloze_code(Fraction(-3, 4), 3) == "{1:NUMERICAL:=-0.75:0}"
    assert cloze_code(0.7310585786300049, 3) == "{1:NUMERICAL:=0.731058579:0.0005}"
    assert accepted_texts(Fraction(-3, 4), 3) == ["-3/4", "-0.75", "-.75", "−3/4", "−0.75", "−.75"]
    assert accepted_texts(Fraction(1, 64), 3) == ["1/64", "0.015625", ".015625"]
    assert accepted_texts(Fraction(9, 22), 3)[:5] == ["9/22", "0.409", ".409", "0.4091", ".4091"]
    assert "0.4086" not in accepted_texts(Fraction(9, 22), 3) and "0.41" not in accepted_texts(Fraction(9, 22), 3)
    assert accepted_texts(5, 3) == ["5"]


def test_leaf_blanks_are_explained(tmp_path: Path) -> None:
    """An inverse problem (a hidden input) gets the relation that determines it as its worked step."""
    ex = byhand.make("dot", seed=1, level="hard")
    xml = ET.fromstring(moodle_xml([ex]))
    fb = xml.findtext("question[@type='cloze']/generalfeedback/text")
    assert "<b>[1]</b> b[4] is hidden: find it from" in fb and ", so b[4] = " in fb  # 1-based, as a person reads it


def test_the_same_input_gives_the_same_bytes() -> None:
    exs = [byhand.make("linear", seed=s) for s in (1, 2)]
    assert qti_zip(exs) == qti_zip(exs) and moodle_xml(exs) == moodle_xml(exs)


def test_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "linear", "--students", "0", "--format", "qti", "-o", str(tmp_path / "x.zip")]) == 2
    assert "--students must be between 1 and 500" in capsys.readouterr().err
    assert main(["export", "lineer", "--format", "moodle", "-o", str(tmp_path / "x.xml")]) == 2
    assert "no chapter named 'lineer'" in capsys.readouterr().err
    assert not (tmp_path / "x.xml").exists()


def test_exporters_read_only_the_exercise_file() -> None:
    """No exporter imports the chapter registry or makes an exercise: they read byhand-exercise/1."""
    src = Path(__file__).resolve().parents[2] / "src/byhand/export"
    for path in src.glob("*.py"):
        text = "\n".join(
            line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith(">>>")
        )  # not the doctests
        assert "byhand.topics" not in text and "from byhand import topics" not in text, path
        assert "byhand.make(" not in text, path


def test_a_teachers_own_file_exports() -> None:
    """A file a teacher wrote and solved (no chapter, no seed) exports like a generated one."""
    doc = {
        "format": "byhand-exercise/1",
        "topic": "custom",
        "title": "My own layer",
        "tensors": {
            "W": {"values": [[1, 0, -1, 1], [0, 1, 1, 0], [1, -1, 0, 0]]},
            "b": {"values": [1, None, 0]},
            "X": {"values": [[2, -1], [1, 1], [2, 1], [1, 2]]},
            "Z": {"values": [[2, 1], [4, 3], [1, None]]},
        },
        "ops": [{"op": "linear", "in": ["W", "b", "X"], "out": "Z"}],
    }
    ex = byhand.solve(doc)
    xml = ET.fromstring(moodle_xml([ex.to_dict()]))
    html = xml.findtext("question[@type='cloze']/questiontext/text")
    codes = {int(b): _answers(body) for b, body in CLOZE.findall(html)}
    assert codes == {b.badge: [(str(b.answer), "0")] for b in ex.blanks}
    z = zipfile.ZipFile(io.BytesIO(qti_zip([ex])))
    assert any(n.endswith(".xml") and n != "imsmanifest.xml" for n in z.namelist())


def test_an_inexact_blank_is_accepted_to_the_sheets_precision() -> None:
    """A blank whose value is not a fraction (a sigmoid) is typed rounded, in both formats."""
    doc = {
        "format": "byhand-exercise/1",
        "topic": "custom",
        "title": "A sigmoid",
        "tensors": {"z": {"values": [1, -2]}, "s": {"values": [None, None]}},
        "ops": [{"op": "sigmoid", "in": ["z"], "out": "s"}],
    }
    ex = byhand.solve(doc)
    assert all(isinstance(b.answer, float) for b in ex.blanks)
    html = ET.fromstring(moodle_xml([ex])).findtext("question[@type='cloze']/questiontext/text")
    for badge, body in CLOZE.findall(html):
        ((ans, tol),) = _answers(body)
        assert tol == "0.0005" and _ok(ex, int(badge), ans)
        assert _ok(ex, int(badge), f"{float(Fraction(ans)):.3f}")  # what a student types: 0.731
    z = zipfile.ZipFile(io.BytesIO(qti_zip([ex])))
    root = ET.fromstring(z.read([n for n in z.namelist() if n != "imsmanifest.xml" and not n.endswith("assessment_meta.xml")][0]))
    for b, lid in zip(ex.blanks, root.iter(f"{Q}response_lid")):
        texts = [m.text for m in lid.iter(f"{Q}mattext")][1:]
        assert texts and all(_ok(ex, b.badge, t) for t in texts)
        assert f"{b.answer:.3f}" in texts
