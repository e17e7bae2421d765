"""Print benchmark of the whiteboard diagrams: what placing their words with Typst costs.

A printed diagram's words are lifted out of its SVG and placed over the picture by Typst, in the sheet's
fonts (so Hindi and Bengali are shaped right; Typst's SVG text breaks their clusters). This prints, for
``--per-chapter`` hard exercises of every chapter with a diagram, the CPU time (``time.process_time()``:
Typst compiles in this process, and the machine may be shared) of one worksheet PDF in English, Hindi and
Bengali, with the words placed by Typst (as printed) and, to compare, the English words left inside the SVG
(as printed before: Typst's SVG text breaks Hindi and Bengali clusters, and usvg 0.47 even panics on some).
Each run uses fresh seeds (Typst caches what it compiled). Target: the ratio ≤ 1.5.

    python benchmarks/print_diagrams.py [--per-chapter 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import byhand
from byhand import documents
from byhand.i18n import use_language
from byhand.printing.layout import _exact, mask_svg, plan_document, plan_exercise
from byhand.printing.render import render_document


def _sheet(exercises: list[byhand.Exercise], words_in_svg: bool) -> bytes:
    """A student's worksheet (as ``documents.worksheet`` plans it), optionally with each diagram's English words
    left inside its SVG for Typst's SVG text to draw (masked the same way), as it printed before."""
    items = []
    for n, ex in enumerate(exercises, 1):
        svg = documents.print_diagram(ex)
        d = ex.to_dict(steps=False)
        item = plan_exercise(d, n, with_answers=False, diagram=svg, chapter=documents.chapter_label(ex.topic))
        if words_in_svg and svg and item.get("diagram"):
            with use_language("en"):  # as before: Hindi or Bengali inside an SVG breaks (and can make usvg panic)
                svg = documents.print_diagram(ex) or svg
            answers = {v for b in d["blanks"] if (v := _exact(b.get("answer"), ex.precision)) is not None}
            item["diagram"] = {**item["diagram"], "svg": mask_svg(svg, answers, ex.precision), "texts": []}
        items.append(item)
    plan = plan_document(items, paper="a4", answer_strip=False, key=False, title="byhand worksheet", name_line=True)
    return render_document(plan)[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-chapter", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    chapters = [t.name for t in byhand.topics() if documents.print_diagram(byhand.make(t.name, seed=1, level="hard"))]
    documents.worksheet([byhand.make(chapters[0], seed=999, level="hard")])  # compiler and fonts start up
    print(f"chapters with a diagram  {len(chapters)}: {', '.join(chapters)}")
    print(f"each run                 {args.per_chapter} hard exercises per chapter, one worksheet PDF, CPU seconds")
    seed = 1000
    for lang in ("en", "hi", "bn"):
        placed: list[float] = []
        inside: list[float] = []
        for _ in range(args.repeat):
            for way in ("placed", "inside"):
                exercises = [byhand.make(t, seed=seed + k, level="hard") for k in range(args.per_chapter) for t in chapters]
                seed += args.per_chapter
                with use_language(lang):
                    t0 = time.process_time()
                    _sheet(exercises, way == "inside")
                    (placed if way == "placed" else inside).append(time.process_time() - t0)
        p, i = statistics.median(placed), statistics.median(inside)
        print(f"{lang}  words placed by Typst {p:6.3f} s   words in the SVG {i:6.3f} s   ratio {p / i:.2f}"
              f"   (runs {[round(x, 3) for x in placed]} / {[round(x, 3) for x in inside]})")


if __name__ == "__main__":
    main()
