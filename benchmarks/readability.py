"""Measure what a reader sees on paper: the font size of grid digits, per chapter × level.

    .venv/bin/python benchmarks/readability.py [--seeds 1,2]

For every chapter and level it prints a worksheet (no answer strip), reads the PDF's text layer
with pypdf and reports the most common size of the regular-weight numbers above the 7.5 pt footer
line, other than the fixed text sizes of the header (the grid's digits), and the smallest bold
number (the blanks' badges).
"""

from __future__ import annotations

import argparse
import collections
import io
import re
import sys

import pypdf

import byhand
from byhand.documents import worksheet

NUMBER = re.compile(r"^[−-]?\d+$")
HEADER_PT = 11.9  # "Exercise 1" is bold 12 pt
TEXT_PT = {7.5, 9.0, 10.0, 12.0}  # footer and legend line, instructions, formula line (subscript digits), title


def number_sizes(pdf: bytes) -> list[tuple[float, bool]]:
    """(size in pt, bold) of every number in the PDF's text layer."""
    sizes: list[tuple[float, bool]] = []
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:

        def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
            t = text.strip()
            if NUMBER.match(t):
                scale = (abs(tm[0] * cm[0] + tm[1] * cm[2]) ** 2 + abs(tm[0] * cm[1] + tm[1] * cm[3]) ** 2) ** 0.5
                scale_y = (abs(tm[2] * cm[0] + tm[3] * cm[2]) ** 2 + abs(tm[2] * cm[1] + tm[3] * cm[3]) ** 2) ** 0.5
                name = str(font.get("/BaseFont", "")) if isinstance(font, dict) else ""
                sizes.append((round(size * max(scale, scale_y), 1), "Bold" in name))

        page.extract_text(visitor_text=visit)
    return sizes


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--chapters", default="")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.chapters.split(",") if args.chapters else [t.name for t in byhand.topics()]
    print(f"{'chapter':<15}{'level':<8}{'seed':>5}{'grid pt':>9}{'badge pt':>9}{'pages':>7}")
    for name in names:
        for level in ("easy", "medium", "hard"):
            for seed in seeds:
                ex = byhand.make(name, seed=seed, level=level)
                pdf = worksheet(ex, answer_strip=False)[0]
                sizes = number_sizes(pdf)
                pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
                grid = [s for s, bold in sizes if not bold and s not in TEXT_PT]
                common = collections.Counter(grid).most_common(1)[0][0] if grid else 0.0
                badges = [s for s, bold in sizes if bold and s < HEADER_PT]
                print(f"{name:<15}{level:<8}{seed:>5}{common:>9.1f}{min(badges, default=0):>9.1f}{pages:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
