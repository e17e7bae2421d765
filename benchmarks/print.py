"""Print benchmark: a 40-student class set (linear, relu, softmax) plus its answer key; then a
hard-backprop class set and the workbook (figures only).

Prints the total seconds (making 120 exercises, planning, QR codes and compiling both PDFs), pages
per second, and the ratio to compiling the same finished Typst documents directly (the templates
with the final plan data: Typst's own work). Targets: under 3 s on one core; overhead ratio ≤ 1.5.

    python benchmarks/print.py [--students 40] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
import warnings
from typing import Any

from byhand import documents
from byhand.printing import PrintWarning, render
from byhand.printing.render import compile_data, plan_json

TOPICS = ["linear", "relu", "softmax"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--book-per-chapter", type=int, default=6)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    warnings.simplefilter("ignore", PrintWarning)

    # Typst memoizes: compiling the same document twice is nearly free. So every measured run uses
    # seeds never printed before, and the compile-only runs compile plans that were captured (not
    # compiled) from yet other seeds.
    plans: list[str] = []

    def capture(plan: dict[str, Any], fmt: str = "pdf", ppi: float = 144.0) -> list[bytes]:
        plans.append(plan_json(plan))
        return [b"%PDF"]

    t0 = time.perf_counter()
    documents.class_set(TOPICS, students=1, seed=10_000)  # warm up: compiler, fonts, templates
    first = time.perf_counter() - t0

    totals, compiles = [], []
    for r in range(args.repeat):
        seed = 1000 * (r + 1)
        t0 = time.perf_counter()
        class_pdf, key_pdf = documents.class_set(TOPICS, students=args.students, seed=seed)
        totals.append(time.perf_counter() - t0)

        plans.clear()
        documents.render_document = capture  # type: ignore[attr-defined]
        try:
            documents.class_set(TOPICS, students=args.students, seed=seed + 500)
        finally:
            documents.render_document = render.render_document  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        for data in plans:
            compile_data(data, "pdf")
        compiles.append(time.perf_counter() - t0)

    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(class_pdf)).pages) + len(PdfReader(io.BytesIO(key_pdf)).pages)
    total, compile_only = statistics.median(totals), statistics.median(compiles)
    print(f"class set          {args.students} students × {len(TOPICS)} chapters ({', '.join(TOPICS)}) + key, one core")
    print(f"pages              {pages} ({len(PdfReader(io.BytesIO(class_pdf)).pages)} student + "
          f"{len(PdfReader(io.BytesIO(key_pdf)).pages)} key); {len(class_pdf) // 1024} KiB + {len(key_pdf) // 1024} KiB")
    print(f"first call         {first:.3f} s (compiler and fonts start up; 1 student)")
    print(f"total              {total:.3f} s (median of {args.repeat}, fresh seeds each; target < 3 s)")
    print(f"runs               total {[round(x, 3) for x in totals]}; compile only {[round(x, 3) for x in compiles]}")
    print(f"pages/second       {pages / total:.1f}")
    print(f"compile only       {compile_only:.3f} s (the same finished documents, Typst alone)")
    print(f"overhead ratio     {total / compile_only:.2f} (total / compile only; target ≤ 1.5)")

    # the largest sheets: a class set of hard backprop (each student over two pages, the backward
    # pass as crossings) and the whole workbook; one run each (fresh seeds), no target of their own
    t0 = time.perf_counter()
    bp_pdf, bp_key = documents.class_set(["backprop"], students=args.students, seed=77_000, level="hard")
    bp_time = time.perf_counter() - t0
    bp_pages = len(PdfReader(io.BytesIO(bp_pdf)).pages) + len(PdfReader(io.BytesIO(bp_key)).pages)
    print(f"backprop hard      {args.students} students + key: {bp_time:.3f} s, {bp_pages} pages "
          f"({bp_pages / bp_time:.1f} pages/s)")
    t0 = time.perf_counter()
    book_pdf = documents.book(per_chapter=args.book_per_chapter, seed=88_000)[0]
    book_time = time.perf_counter() - t0
    book_pages = len(PdfReader(io.BytesIO(book_pdf)).pages)
    print(f"book               every chapter × {args.book_per_chapter}: {book_time:.3f} s, {book_pages} pages "
          f"({book_pages / book_time:.1f} pages/s)")


if __name__ == "__main__":
    main()
