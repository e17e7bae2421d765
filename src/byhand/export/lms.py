"""Exercises for a learning management system: Moodle XML and QTI 1.2 (as Canvas imports it).

* **Moodle XML**: a question category per chapter, one Cloze ("embedded answers") question per
  variant. The sheet's grid is an HTML table with one ``{1:NUMERICAL:=6:0}`` box per badge in the
  blank's place; the worked steps are the general feedback.
* **QTI 1.2 for Canvas** (a zip with ``imsmanifest.xml``): one quiz whose question group per
  chapter holds the N variants and picks 1, so every student draws their own. Each variant is a
  ``fill_in_multiple_blanks_question`` (Canvas's only question type with several blanks; it
  compares text, so every accepted spelling of the answer is listed).

What a student may type, the same rule as ``byhand check`` as far as each LMS can say it:
integers as integers; a fraction as a decimal (Moodle's numerical boxes read decimals only; Canvas
also takes ``3/14``). A fraction whose decimal ends at all must be exact (``0.75`` for 3/4,
``0.015625`` for 1/64, never ``0.016``): one answer, tolerance 0. A fraction that never ends
(3/14) may be written correctly rounded to the sheet's precision or finer; Moodle gets one
full-credit answer per length, tolerance 0, from the precision to 4 places beyond it
(``{1:NUMERICAL:=0.214:0~%100%0.2143:0~%100%0.21429:0~…}``), so a wrongly rounded ``0.2142`` is
marked wrong as ``byhand check`` marks it. Where Moodle cannot follow: it compares numbers, so
``0.2140`` passes as ``0.214`` (byhand wants 0.2143 for 4 places), and a decimal longer than the
listed ones is marked wrong (byhand accepts any correctly rounded length). Canvas
lists the spellings: ``3/14``, ``0.214``, ``.214``, ``0.2143`` …. Values that are not fractions
(a log, e^z) are inexact and accepted within half a unit of the sheet's last place: Moodle's
window is the value ± 0.0005 (``0.731058579:0.0005``); Canvas lists the value rounded (``0.731``).

Everything is read from the exercise file (``Exercise.to_dict()``).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from html import escape
from typing import Any
from xml.etree import ElementTree as ET

from byhand.engine import values as V
from byhand.engine.values import MINUS, Value
from byhand.export._doc import Doc
from byhand.export.grid import grid_html
from byhand.i18n import N_, gettext, ngettext, tr_text
from byhand.notation import cell_label

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"

# -- numbers ------------------------------------------------------------------------------------


EXTRA_PLACES = 4  # a never-ending fraction is accepted rounded to the precision … precision + 4 places


def _exact(v: Value) -> bool:
    """Is the value typed exactly: an integer or a fraction whose decimal ends (1/64 = 0.015625)?"""
    return not isinstance(v, float) and V.terminates(v)


def _fixed(f: Fraction, places: int) -> str:
    """A fraction whose decimal ends within ``places``, written exactly with that many decimals
    (no rounding by Decimal's 28 digits); no "-0.000"."""
    n = f * 10**places
    assert n.denominator == 1, (f, places)
    s = format(Decimal(n.numerator).scaleb(-places), "f")
    return s.lstrip("-") if f == 0 else s


def _places(f: Fraction) -> int:
    """How many decimals a fraction whose decimal ends needs (1/64 → 6)."""
    k = 0
    while (f * 10**k).denominator != 1:
        k += 1
    return k


def decimal_str(v: Value, precision: int) -> str:
    """The decimal a student writes: exact when it ends at all, else rounded to the precision."""
    if type(v) is int:
        return str(v)
    if _exact(v):
        f = Fraction(v)
        return _fixed(f, _places(f))
    if isinstance(v, float):
        q = Decimal(1).scaleb(-precision)
        s = format(Decimal(v).quantize(q, rounding=ROUND_HALF_EVEN), "f")
        if s.lstrip("-").strip("0.") == "":
            s = s.lstrip("-")
        return s
    return _fixed(V.rounded(Fraction(v), precision), precision)


def rounded_decimals(v: Value, precision: int) -> list[str]:
    """A never-ending fraction correctly rounded to ``precision`` … ``precision + EXTRA_PLACES``
    places: every decimal ``byhand check`` accepts for it, as far as an LMS lists them
    (9/22 → ``0.409``, ``0.4091``, ``0.40909``, ``0.409091``, ``0.4090909``)."""
    f = Fraction(v)
    return [_fixed(V.rounded(f, k), k) for k in range(precision, precision + EXTRA_PLACES + 1)]


def tolerance(v: Value, precision: int) -> str:
    """Moodle's tolerance: 0 for a fraction (every accepted decimal is listed), half a unit of the
    last place for an inexact value."""
    if not isinstance(v, float):
        return "0"
    return format(Decimal(5).scaleb(-(precision + 1)), "f")


def _spellings(s: str) -> list[str]:
    out = [s]
    if s.startswith("0."):
        out.append(s[1:])  # .75
    if s.startswith("-0."):
        out.append("-" + s[2:])  # -.75
    return out


def accepted_texts(v: Value, precision: int) -> list[str]:
    """Every spelling Canvas should accept for a blank (it compares text)."""
    out: list[str] = []
    if type(v) is Fraction:
        out.append(f"{v.numerator}/{v.denominator}")
    if type(v) is Fraction and not _exact(v):
        for s in rounded_decimals(v, precision):
            out += _spellings(s)
    else:
        out += _spellings(decimal_str(v, precision))
    out += [x.replace("-", MINUS) for x in out if x.startswith("-")]  # the typographic minus
    return list(dict.fromkeys(out))


def what_to_type(precision: int, lms: str) -> str:
    """The question's note on what is accepted (it differs: Moodle's boxes read decimals only)."""
    if lms == "canvas":
        start = "Type integers as they are (−2 or -2), a fraction as a fraction (3/14) or as a decimal"
    else:
        start = "Type integers as they are (-2) and a fraction as a decimal"
    return (
        f"{start}: exactly if its decimal ends (0.75 for 3/4, 0.015625 for 1/64), otherwise correctly rounded "
        f"to {precision} places or more, up to {precision + EXTRA_PLACES} (0.214 or 0.2143 for 3/14). "
        f"Round a number that is not a fraction (a log) to {precision} places."
    )


# -- pieces shared by both formats ----------------------------------------------------------------


WORKED = N_("Worked solution")  # the feedback's heading


def _steps_html(doc: Doc) -> str:
    """The worked solution: every step, the blanks' badges marked; hidden inputs explained."""
    items = []
    explained = _inverse_explanations(doc)
    for (name, idx), text in explained.items():
        badge = doc.badge_of[(name, idx)]
        items.append(f"<li><b>[{badge}]</b> {escape(tr_text(text))}</li>")
    for s in doc.steps:
        cell = (s["cell"][0], tuple(s["cell"][1]))
        shown = doc.badge_of.get(cell)
        mark = f"<b>[{shown}]</b> " if shown is not None else ""
        items.append(f"<li>{mark}{escape(cell_label(doc.raw, *cell))} = {escape(tr_text(str(s['text'])))}</li>")
    return f"<p><b>{escape(gettext(WORKED))}</b></p><ol>" + "".join(items) + "</ol>"


def _inverse_explanations(doc: Doc) -> dict[tuple[str, tuple[int, ...]], str]:
    """Blanks on given tensors (a hidden input or weight) have no forward step: the relation that
    determines them, read back from the exercise file."""
    cells = [c for c in doc.badge_of if c[0] in doc.leaves]
    if not cells:
        return {}
    from byhand.exercise import Exercise

    ex = Exercise.from_json(dict(doc.raw))
    return {c: ex.explain(c) for c in sorted(cells)}


def _intro(doc: Doc, lms: str) -> str:
    n = len(doc.blanks)
    fill = ngettext("Fill the {0} blank.", "Fill the {0} blanks.", n)  # the question in the chosen language (byhand.i18n)
    return (
        f"<p><b>{escape(gettext(doc.title))}</b></p>"
        f"<p>{escape(tr_text(doc.instructions))}</p>"
        f"<p>{escape(fill.format(n))} {escape(what_to_type(doc.precision, lms))}</p>"
    )


def _group(docs: Sequence[Doc]) -> list[tuple[str, list[Doc]]]:
    groups: dict[str, list[Doc]] = {}
    for d in docs:
        groups.setdefault(d.topic, []).append(d)
    return list(groups.items())


def _name(doc: Doc) -> str:
    if doc.seed is None:
        return doc.title
    return f"{doc.title} · seed {doc.seed} · {doc.level}"


# -- Moodle ---------------------------------------------------------------------------------------


def moodle_answers(v: Value, precision: int) -> list[str]:
    """The numbers in Moodle's NUMERICAL code, each worth full marks. A value typed exactly is
    itself (``0.75``, ``0.015625``); a never-ending fraction is each correctly rounded decimal
    (``0.214``, ``0.2143`` … for 3/14); an inexact value is the centre of its window, to 9 places
    (``0.731058579``)."""
    if _exact(v):
        return [decimal_str(v, precision)]
    if isinstance(v, float):
        return [decimal_str(v, precision + 6).rstrip("0")]
    seen: set[Fraction] = set()
    out = []
    for s in rounded_decimals(v, precision):
        if Fraction(s) not in seen:  # Moodle compares numbers: 0.3030 is 0.303
            seen.add(Fraction(s))
            out.append(s)
    return out


def cloze_code(v: Value, precision: int) -> str:
    """One NUMERICAL sub-question worth 1 mark: ``{1:NUMERICAL:=0.75:0}`` for 3/4,
    ``{1:NUMERICAL:=0.214:0~%100%0.2143:0~…}`` for 3/14, ``{1:NUMERICAL:=0.731058579:0.0005}``
    for an inexact value."""
    tol = tolerance(v, precision)
    return "{1:NUMERICAL:=" + "~%100%".join(f"{a}:{tol}" for a in moodle_answers(v, precision)) + "}"


def moodle_question(doc: Doc) -> str:
    answers = {int(b["badge"]): doc.value(b["cells"][0][0], tuple(b["cells"][0][1])) for b in doc.blanks}

    def blank(badge: int) -> str:
        return f"<sup>[{badge}]</sup>{cloze_code(answers[badge], doc.precision)}"

    text = _intro(doc, "moodle") + grid_html(doc, blank) + f"<p><small>{escape(doc.identity)}</small></p>"
    return text


def moodle_xml(exercises: Sequence[Any], course_category: str = "byhand") -> bytes:
    """Moodle XML: a category per chapter, one Cloze question per variant."""
    root = ET.Element("quiz")
    for topic, docs in _group([Doc(e) for e in exercises]):
        cat = ET.SubElement(root, "question", type="category")
        ET.SubElement(ET.SubElement(cat, "category"), "text").text = f"$course$/top/{course_category}/{docs[0].title} ({topic})"
        ET.SubElement(
            ET.SubElement(cat, "info", format="html"), "text"
        ).text = (
            f"{len(docs)} variants of {docs[0].title}; add a random question from this category to give each student their own."
        )
        for d in docs:
            q = ET.SubElement(root, "question", type="cloze")
            ET.SubElement(ET.SubElement(q, "name"), "text").text = _name(d)
            ET.SubElement(ET.SubElement(q, "questiontext", format="html"), "text").text = moodle_question(d)
            ET.SubElement(ET.SubElement(q, "generalfeedback", format="html"), "text").text = _steps_html(d)
            ET.SubElement(q, "penalty").text = "0.3333333"
            ET.SubElement(q, "hidden").text = "0"
            ET.SubElement(q, "idnumber").text = d.identity[:100]
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


# -- QTI 1.2 for Canvas ---------------------------------------------------------------------------


def _meta(parent: ET.Element, fields: dict[str, str]) -> None:
    q = ET.SubElement(parent, "qtimetadata")
    for k, v in fields.items():
        f = ET.SubElement(q, "qtimetadatafield")
        ET.SubElement(f, "fieldlabel").text = k
        ET.SubElement(f, "fieldentry").text = v


def _mattext(parent: ET.Element, text: str, html: bool = True) -> None:
    m = ET.SubElement(ET.SubElement(parent, "material"), "mattext", texttype="text/html" if html else "text/plain")
    m.text = text


def qti_item(doc: Doc, ident: str) -> ET.Element:
    """One variant as a Canvas fill-in-multiple-blanks question: ``[b1]`` … in the grid."""
    item = ET.Element("item", ident=ident, title=_name(doc))
    n = len(doc.blanks)
    _meta(
        ET.SubElement(item, "itemmetadata"),
        {
            "question_type": "fill_in_multiple_blanks_question",
            "points_possible": f"{float(n)}",
            "original_answer_ids": "",
            "assessment_question_identifierref": f"{ident}_q",
        },
    )
    pres = ET.SubElement(item, "presentation")
    text = _intro(doc, "canvas") + grid_html(doc, lambda b: f"[b{b}]") + f"<p><small>{escape(doc.identity)}</small></p>"
    _mattext(pres, text)
    conditions: list[tuple[str, str]] = []
    for b in doc.blanks:
        badge = int(b["badge"])
        v = doc.value(b["cells"][0][0], tuple(b["cells"][0][1]))
        lid = ET.SubElement(pres, "response_lid", ident=f"response_b{badge}")
        _mattext(lid, f"b{badge}", html=False)
        choice = ET.SubElement(lid, "render_choice")
        first = ""
        for k, t in enumerate(accepted_texts(v, doc.precision)):
            label_id = f"{ident}_b{badge}_{k}"
            first = first or label_id
            lab = ET.SubElement(choice, "response_label", ident=label_id)
            _mattext(lab, t, html=False)
        conditions.append((f"response_b{badge}", first))
    rp = ET.SubElement(item, "resprocessing")
    ET.SubElement(ET.SubElement(rp, "outcomes"), "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal")
    share = f"{100 / max(n, 1):.2f}"
    for resp, label in conditions:
        rc = ET.SubElement(rp, "respcondition")
        ET.SubElement(ET.SubElement(rc, "conditionvar"), "varequal", respident=resp).text = label
        ET.SubElement(rc, "setvar", varname="SCORE", action="Add").text = share
    rc = ET.SubElement(rp, "respcondition", attrib={"continue": "Yes"})
    ET.SubElement(ET.SubElement(rc, "conditionvar"), "other")
    ET.SubElement(rc, "displayfeedback", feedbacktype="Response", linkrefid="general_fb")
    fb = ET.SubElement(item, "itemfeedback", ident="general_fb")
    _mattext(ET.SubElement(fb, "flow_mat"), _steps_html(doc))
    return item


def qti_assessment(exercises: Sequence[Any], title: str, ident: str) -> bytes:
    root = ET.Element(
        "questestinterop",
        attrib={
            "xmlns": QTI_NS,
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:schemaLocation": f"{QTI_NS} http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd",
        },
    )
    a = ET.SubElement(root, "assessment", ident=ident, title=title)
    _meta(a, {"cc_maxattempts": "1"})
    root_section = ET.SubElement(a, "section", ident="root_section")
    for g, (topic, docs) in enumerate(_group([Doc(e) for e in exercises]), start=1):
        sec = ET.SubElement(root_section, "section", ident=f"{ident}_g{g}", title=f"{docs[0].title} ({topic})")
        sel = ET.SubElement(ET.SubElement(sec, "selection_ordering"), "selection")
        ET.SubElement(sel, "selection_number").text = "1"
        blanks = {len(d.blanks) for d in docs}
        per_item = float(blanks.pop()) if len(blanks) == 1 else 1.0
        ET.SubElement(ET.SubElement(sel, "selection_extension"), "points_per_item").text = f"{per_item}"
        for k, d in enumerate(docs, start=1):
            sec.append(qti_item(d, f"{ident}_g{g}_v{k}"))
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


CANVAS_NS = "http://canvas.instructure.com/xsd/cccv1p0"


def qti_manifest(ident: str, title: str) -> bytes:
    """The package's table of contents: the assessment, and Canvas's quiz settings beside it."""
    root = ET.Element(
        "manifest",
        attrib={
            "identifier": f"{ident}_manifest",
            "xmlns": CP_NS,
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:schemaLocation": f"{CP_NS} http://www.imsglobal.org/xsd/imscp_v1p1.xsd",
        },
    )
    md = ET.SubElement(root, "metadata")
    ET.SubElement(md, "schema").text = "IMS Content"
    ET.SubElement(md, "schemaversion").text = "1.1.3"
    ET.SubElement(root, "organizations")
    resources = ET.SubElement(root, "resources")
    res = ET.SubElement(resources, "resource", identifier=ident, type="imsqti_xmlv1p2")
    ET.SubElement(res, "file", href=f"{ident}/{ident}.xml")
    ET.SubElement(res, "dependency", identifierref=f"{ident}_meta")
    meta = ET.SubElement(
        resources,
        "resource",
        identifier=f"{ident}_meta",
        type="associatedcontent/imscc_xmlv1p1/learning-application-resource",
        href=f"{ident}/assessment_meta.xml",
    )
    ET.SubElement(meta, "file", href=f"{ident}/assessment_meta.xml")
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def canvas_meta(ident: str, title: str, docs: Sequence[Doc], points: float) -> bytes:
    """Canvas's quiz settings (``assessment_meta.xml``): title, what to type, one attempt, points."""
    root = ET.Element("quiz", attrib={"identifier": ident, "xmlns": CANVAS_NS})
    ET.SubElement(root, "title").text = title
    chapters = ", ".join(dict.fromkeys(d.title for d in docs))
    ET.SubElement(root, "description").text = (
        f"<p>{escape(chapters)}: each student gets their own variant of each.</p>"
        f"<p>{escape(what_to_type(docs[0].precision if docs else 3, 'canvas'))}</p>"
    )
    for k, v in (
        ("shuffle_answers", "false"),
        ("scoring_policy", "keep_highest"),
        ("quiz_type", "assignment"),
        ("points_possible", f"{points:.1f}"),
        ("show_correct_answers", "true"),
        ("allowed_attempts", "1"),
        ("one_question_at_a_time", "false"),
        ("available", "false"),
    ):
        ET.SubElement(root, k).text = v
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def qti_zip(exercises: Sequence[Any], title: str = "byhand") -> bytes:
    """A QTI 1.2 package as Canvas imports it ("QTI .zip file"): the manifest, the assessment and
    Canvas's quiz settings."""
    docs = [Doc(e) for e in exercises]
    ident = "byhand_" + "_".join(dict.fromkeys(d.topic.replace("-", "_") for d in docs))[:60]
    points = 0.0
    for _, group in _group(docs):
        blanks = {len(d.blanks) for d in group}
        points += float(blanks.pop()) if len(blanks) == 1 else 1.0
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (
            ("imsmanifest.xml", qti_manifest(ident, title)),
            (f"{ident}/{ident}.xml", qti_assessment(exercises, title, ident)),
            (f"{ident}/assessment_meta.xml", canvas_meta(ident, title, docs, points)),
        ):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: the same input gives the same bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()
