"""Print benchmark: a 40-student class set (linear, relu, softmax) plus its answer key, the
500-student set a district prints at once, then a hard-backprop class set and the workbook (figures only).

For the 40-student set: the total seconds (making 120 exercises, planning, sealing, QR codes,
compiling and joining both PDFs), pages per second, and the ratio to compiling the same finished
Typst documents directly (the templates with the final plan data: Typst's own work). Targets:
under 3 s on one core; overhead ratio ≤ 1.5.

For both sets, as a teacher runs it: ``byhand sheet linear relu softmax --students N --seed 9 -o …
--key …`` in a child process on one core, its wall time and peak memory (maximum resident set
size, from the kernel's accounting of that child). Targets for 500 students (1,000 pages): under
15 s and at most 200 MiB.

    python benchmarks/print.py [--students 40] [--repeat 5] [--school 500]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from byhand import documents
from byhand.printing import PrintWarning, render
from byhand.printing.render import compile_data, plan_json
from byhand.seal import Seal

TOPICS = ["linear", "relu", "softmax"]


def child(students: int, folder: Path) -> tuple[float, float, float, int]:
    """``byhand sheet`` for a class, in its own process: wall seconds, CPU seconds, peak RSS in MiB, pages."""
    from pypdf import PdfReader

    cls, key = folder / f"class-{students}.pdf", folder / f"key-{students}.pdf"
    cmd = [sys.executable, "-m", "byhand.cli", "sheet", *TOPICS, "--students", str(students), "--seed", "9",
           "-o", str(cls), "--key", str(key), "--secret", str(folder / "secret.txt")]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"byhand sheet failed: {err}")
    pages = len(PdfReader(cls).pages) + len(PdfReader(key).pages)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, pages


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--book-per-chapter", type=int, default=6)
    ap.add_argument("--school", type=int, default=500, help="The large set, measured in a child process (0: skip).")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core (children inherit it)
    warnings.simplefilter("ignore", PrintWarning)

    # first, while this process is small: Linux counts a child's peak from the moment it is forked,
    # so a child forked from a large process would report that process's size as its own
    school = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [args.students] + ([args.school] if args.school else []):
            school.append((n, *child(n, Path(tmp))))

    seal = Seal(bytes(32))

    # Typst memoizes: compiling the same document twice is nearly free. So every measured run uses
    # seeds never printed before, and the compile-only runs compile plans that were captured (not
    # compiled) from yet other seeds.
    plans: list[str] = []

    def capture(pieces: Any, title: str | None = None) -> bytes:
        plans.extend(plan_json(plan) for plan in pieces)
        return b"%PDF"

    t0 = time.perf_counter()
    documents.class_set(TOPICS, students=1, seed=10_000, seal=seal)  # warm up: compiler, fonts, templates
    first = time.perf_counter() - t0

    totals, compiles, cpus = [], [], []
    for r in range(args.repeat):
        seed = 1000 * (r + 1)
        t0, c0 = time.perf_counter(), time.process_time()
        class_pdf, key_pdf = documents.class_set(TOPICS, students=args.students, seed=seed, seal=seal)
        totals.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)

        plans.clear()
        documents.render_pieces = capture  # type: ignore[assignment]
        try:
            documents.class_set(TOPICS, students=args.students, seed=seed + 500, seal=seal)
        finally:
            documents.render_pieces = render.render_pieces
        t0, c0 = time.perf_counter(), time.process_time()
        for data in plans:
            compile_data(data, "pdf", tags=False)
        compiles.append(time.perf_counter() - t0)
        cpus.append(-(time.process_time() - c0))  # negative: the compile-only runs' CPU

    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(class_pdf)).pages) + len(PdfReader(io.BytesIO(key_pdf)).pages)
    total, compile_only = statistics.median(totals), statistics.median(compiles)
    print(f"class set          {args.students} students × {len(TOPICS)} chapters ({', '.join(TOPICS)}) + key, sealed, one core")
    print(f"pages              {pages} ({len(PdfReader(io.BytesIO(class_pdf)).pages)} student + "
          f"{len(PdfReader(io.BytesIO(key_pdf)).pages)} key); {len(class_pdf) // 1024} KiB + {len(key_pdf) // 1024} KiB")
    print(f"first call         {first:.3f} s (compiler and fonts start up; 1 student)")
    print(f"total              {total:.3f} s (median of {args.repeat}, fresh seeds each; target < 3 s)")
    print(f"runs               total {[round(x, 3) for x in totals]}; compile only {[round(x, 3) for x in compiles]}")
    print(f"pages/second       {pages / total:.1f}")
    print(f"compile only       {compile_only:.3f} s (the same finished pieces, Typst alone)")
    print(f"overhead ratio     {total / compile_only:.2f} (total / compile only; target ≤ 1.5)")
    cpu_total = statistics.median(c for c in cpus if c > 0)
    cpu_compile = statistics.median(-c for c in cpus if c < 0)
    print(f"CPU time           {cpu_total:.3f} s total, {cpu_compile:.3f} s compile only: ratio {cpu_total / cpu_compile:.2f} "
          "(the same, robust to other processes on the core)")
    for n, wall, cpu, rss, pages in school:
        target = "; targets < 15 s, ≤ 200 MiB" if n == args.school else ""
        print(f"byhand sheet {n:<5} {wall:.2f} s wall ({cpu:.2f} s CPU), peak RSS {rss:.0f} MiB, {pages} pages "
              f"(a child process, start-up included{target})")


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
