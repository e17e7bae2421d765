"""A printed diagram's words are lifted out of its SVG for Typst to place in the sheet's font (layout._diagram)."""

from __future__ import annotations

import byhand
from byhand.documents import print_diagram
from byhand.printing.layout import _diagram, plan_exercise


def test_each_text_is_lifted_with_its_position_and_style() -> None:
    svg = ("<svg xmlns='http://www.w3.org/2000/svg' width='300' height='80' viewBox='0 0 300 80'>"
           "<line x1='0' y1='0' x2='300' y2='80' stroke='#222'/>"
           "<text x='150.0' y='40.5' font-size='14' text-anchor='middle' fill='#1f5fbf' font-style='italic'>"
           "skip:  + <tspan class='a'>X &amp; Y</tspan></text>"
           "<text x='290' y='70' font-size='16px' text-anchor='end' font-weight='bold' fill='white'>Z</text>"
           "<text x='5' y='10'>   </text></svg>")
    d = _diagram(svg)
    assert d is not None and d["w"] == 300 and d["h"] == 80
    assert "<text" not in d["svg"] and "<line" in d["svg"]  # the picture stays, its words leave it
    assert d["texts"] == [
        {"x": 150.0, "y": 40.5, "size": 14.0, "body": "skip: + X & Y", "anchor": "middle", "fill": "#1f5fbf",
         "italic": True, "bold": False},
        {"x": 290.0, "y": 70.0, "size": 16.0, "body": "Z", "anchor": "end", "fill": "#ffffff", "italic": False,
         "bold": True},
    ]  # an empty text is dropped; runs of space are one, as SVG shows them


def test_an_svg_whose_units_are_not_its_px_keeps_its_words() -> None:
    """A word is placed at its x, y in px: a scaled viewBox or a transform would move it, so Typst's SVG text
    draws such a picture's words where they are."""
    for svg in ("<svg width='100' height='50' viewBox='0 0 200 100'><text x='10' y='20'>a</text></svg>",
                "<svg width='100' height='50'><g transform='scale(2)'><text x='10' y='20'>a</text></g></svg>"):
        d = _diagram(svg)
        assert d is not None and d["texts"] == [] and "<text" in d["svg"]


def test_the_students_words_hide_the_answers_and_the_keys_show_them() -> None:
    ex = byhand.make("resnet", seed=1, level="hard")
    svg = print_diagram(ex)
    student = [t["body"] for t in plan_exercise(ex.to_dict(), 1, diagram=svg)["diagram"]["texts"]]
    key = [t["body"] for t in plan_exercise(ex.to_dict(), 1, key=True, diagram=svg)["diagram"]["texts"]]
    assert len(student) == len(key) and "dX = [?, ?, ?]" in student
    assert not any("?" in b for b in key) and any(b.startswith("dX = [") for b in key)
