"""Lecture mode in print: one page per frame, frame k shows exactly steps 1…k, the last frame is the key."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader

import byhand
from byhand import documents
from byhand.cli import main
from byhand.printing.layout import cell_key
from byhand.printing.slides import SLIDE_PITCH_MM, SLIDE_WINDOW, plan_deck
from byhand.slides import frames

pytestmark = pytest.mark.filterwarnings("ignore::byhand.printing.errors.PrintWarning")


def pages(pdf: bytes) -> list[str]:
    return [(p.extract_text() or "").replace("\u2212", "-") for p in PdfReader(io.BytesIO(pdf)).pages]


def tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"-?\d+(?:/\d+)?", text.replace("\u2212", "-")))


@pytest.fixture(scope="module")
def bp() -> byhand.Exercise:
    return byhand.make("backprop", seed=3, depth=3)


@pytest.mark.parametrize("group", ["cell", "row", "layer"])
def test_one_page_per_frame(bp: byhand.Exercise, group: str) -> None:
    fs = frames(bp, group)
    plan = plan_deck(bp.to_dict(), [f.to_json() for f in fs], group=group)
    solution = [f for f in plan["frames"] if f["kind"] == "final"]
    assert len(solution) == solution[0]["parts"] > 1  # a big grid: the solution one window a page
    assert len(PdfReader(io.BytesIO(documents.slides(bp, group=group)[0])).pages) == len(fs) - 1 + len(solution)


def test_one_page_per_frame_resnet_png() -> None:
    ex = byhand.make("resnet", seed=3, level="easy")
    pngs = documents.slides(ex, fmt="png")
    assert len(pngs) == len(plan_deck(ex.to_dict(), [f.to_json() for f in frames(ex)])["frames"])
    assert pngs[0][:8] == b"\x89PNG\r\n\x1a\n"


def test_frame_k_reveals_exactly_steps_1_to_k(bp: byhand.Exercise) -> None:
    """In the plan: a computed cell is shown in frame k iff a step ≤ k computed it; new = step k's cell."""
    fs = frames(bp, "cell")
    plan = plan_deck(bp.to_dict(), [f.to_json() for f in fs])
    computed = {cell_key(*s.cell) for s in bp.steps} | {cell_key(*c) for c in bp.blank_cells()}
    for k, f in enumerate(plan["frames"]):
        done = {cell_key(*s.cell) for s in bp.steps[:k]}
        last = {cell_key(*bp.steps[k - 1].cell)} if 1 <= k <= len(bp.steps) else set()
        for b, states in zip(plan["exercise"]["blocks"], f["states"]):
            if b["tensor"] is None:
                continue
            for cell, state in zip(b["cells"], states):
                key = cell_key(b["tensor"], cell["i"])
                if f["kind"] == "final" or key not in computed:
                    assert state != "h", (k, key)
                else:
                    assert (state != "h") == (key in done), (k, key)
                assert (state in "ng") == (key in last), (k, key)


@pytest.fixture(scope="module")
def small() -> byhand.Exercise:
    """A network whose whole grid fits one frame at the projector pitch (no window)."""
    return byhand.make("mlp", seed=1, level="easy")


def test_pdf_text_of_each_frame_adds_exactly_its_step(small: byhand.Exercise) -> None:
    """Between frames k−1 and k the page text gains exactly the new value(s) (and the crossed-out input),
    besides the arithmetic and the counter."""
    bp = small
    fs = frames(bp, "cell")
    plan = plan_deck(bp.to_dict(), [f.to_json() for f in fs])
    assert all(f["view"] is None for f in plan["frames"])
    text = pages(documents.slides(bp)[0])
    blocks = plan["exercise"]["blocks"]

    def shown(k: int) -> Counter[str]:
        out: Counter[str] = Counter()
        for b, states in zip(blocks, plan["frames"][k]["states"]):
            for cell, state in zip(b["cells"], states):
                if state != "h":
                    out[cell["v"]["s"].replace("\u2212", "-")] += 1
                    if "struck" in cell:
                        out[cell["struck"]["s"].replace("\u2212", "-")] += 1
        return out

    def extra(k: int) -> Counter[str]:
        f = plan["frames"][k]
        return tokens(" ".join(f["lines"])) + tokens(f"[{f['k']}/{f['n']}]")

    for k in range(2, len(fs) - 1):
        got = tokens(text[k])
        got.subtract(tokens(text[k - 1]))
        want = shown(k)
        want.subtract(shown(k - 1))
        want.update(extra(k))
        want.subtract(extra(k - 1))
        assert +got == +want and -got == -want, (k, plan["frames"][k]["lines"])


def pf_new(f: object) -> list[str]:
    return list(f.to_json()["new"])  # type: ignore[attr-defined]


def test_a_large_grid_is_shown_through_a_window_that_follows_the_step(bp: byhand.Exercise) -> None:
    """Frames of a grid larger than the frame show a window at the projector pitch (digits ≥ 24 px)
    holding the step's new cell; only the cells in the window are drawn."""
    fs = frames(bp, "cell")
    plan = plan_deck(bp.to_dict(), [f.to_json() for f in fs])
    canvas = plan["exercise"]["canvas"]
    assert canvas["width"] > SLIDE_WINDOW[0] or canvas["height"] > SLIDE_WINDOW[1]
    first: dict[str, tuple[float, float, float]] = {}
    for b in plan["exercise"]["blocks"]:
        for c in b["cells"]:
            if b["tensor"]:
                first.setdefault(cell_key(b["tensor"], c["i"]), (b["x"] + c["c"] * b["cw"], b["y"] + c["r"], b["cw"]))
    text = pages(documents.slides(bp)[0])
    for f, pf in zip(fs, plan["frames"]):
        if f.kind != "step":
            continue
        view = pf["view"]
        assert view is not None and (view["w"], view["h"]) == SLIDE_WINDOW
        for k in pf_new(f):
            x, y, w = first[k]
            assert view["x"] <= x and x + w <= view["x"] + view["w"] + 1e-6, (f.k, k)
            assert view["y"] <= y and y + 1 <= view["y"] + view["h"] + 1e-6, (f.k, k)
    # a window holds far fewer numbers than the whole grid
    step = next(i for i, f in enumerate(fs) if f.kind == "step")
    assert sum(tokens(text[step]).values()) < sum(sum(tokens(t).values()) for t in text[len(fs) - 1:])
    # the pitch is the projector floor: 0.4 × pitch ≥ 24 px at 1280 px per 841.89 pt
    assert 0.4 * SLIDE_PITCH_MM / 25.4 * 72 * 1280 / 841.89 >= 24


def test_the_solution_frames_hold_the_key(bp: byhand.Exercise) -> None:
    """The solution of a big grid comes one window a page, at the projector pitch; together its
    pages show every answer."""
    text = pages(documents.slides(bp)[0])
    n = len(frames(bp)) - 1  # the pages before the solution
    assert all("solution" in t for t in text[n:]) and not any("solution" in t for t in text[1:n])
    shown: Counter[str] = Counter()
    for t in text[n:]:
        shown |= tokens(t)
    answers = Counter(str(b.answer) for b in bp.blanks)
    assert not set(answers) - set(shown)
    first = pages(documents.slides(bp, group="layer")[0])[0]
    assert "the task" in first


def test_deterministic(bp: byhand.Exercise) -> None:
    assert documents.slides(bp, group="row")[0] == documents.slides(bp, group="row")[0]


def test_html_is_one_offline_file(tmp_path: Path) -> None:
    out = tmp_path / "resnet.html"
    assert main(["slides", "resnet", "--seed", "3", "--format", "html", "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert not re.search(r"https?://", html)
    assert [p.name for p in tmp_path.iterdir()] == ["resnet.html"]


def test_cli_pdf_and_png(tmp_path: Path) -> None:
    pdf = tmp_path / "bp.pdf"
    assert main(["slides", "backprop", "--seed", "1", "--group", "row", "-o", str(pdf)]) == 0
    ex = byhand.make("backprop", seed=1)
    plan = plan_deck(ex.to_dict(), [f.to_json() for f in frames(ex, "row")], group="row")
    assert len(PdfReader(str(pdf)).pages) == len(plan["frames"])
    assert main(["slides", "mlp", "--seed", "7", "--level", "easy", "--format", "png", "-o", str(tmp_path / "m.png")]) == 0
    n = len(frames(byhand.make("mlp", seed=7, level="easy")))
    assert sorted(p.name for p in tmp_path.glob("m-*.png")) == sorted(f"m-{k}.png" for k in range(1, n + 1))


def test_cli_bad_group(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slides", "mlp", "--group", "column"]) == 2
    assert "column" in capsys.readouterr().err


def test_a_cell_drawn_twice_is_lit_only_where_the_step_uses_it() -> None:
    """Resnet's Z₂ step uses X in [A₁ ; X], not the X on top of the first layer."""
    ex = byhand.make("resnet", seed=1, level="medium")
    fs = [f.to_json() for f in frames(ex)]
    plan = plan_deck(ex.to_dict(), fs)
    step = next(i for i, f in enumerate(fs) if f["kind"] == "step" and f["new"] == ["Z2:0,0"])
    lit: Counter[str] = Counter()
    for b, states in zip(plan["exercise"]["blocks"], plan["frames"][step]["states"]):
        for cell, s in zip(b["cells"], states):
            if s == "u":
                lit[cell_key(b["tensor"], cell["i"])] += 1
    assert lit and max(lit.values()) == 1
    assert {k.split(":")[0] for k in lit} >= {"X", "A1", "W2", "I", "b2"}


FLOOR_PX = 24  # every word on a frame, at 1280×720


def text_sizes_px(pdf: bytes) -> list[tuple[int, str, float]]:
    """(page, text, height in projector pixels) of every piece of text on every frame."""
    out: list[tuple[int, str, float]] = []
    reader = PdfReader(io.BytesIO(pdf))
    for k, page in enumerate(reader.pages):
        px = 1280 / float(page.mediabox.width)

        def visit(text: str, cm: list[float], tm: list[float], font: object, size: float, k: int = k, px: float = px) -> None:
            if text.strip():
                sy = ((tm[2] * cm[0] + tm[3] * cm[2]) ** 2 + (tm[2] * cm[1] + tm[3] * cm[3]) ** 2) ** 0.5
                out.append((k, text.strip(), size * sy * px))

        page.extract_text(visitor_text=visit)
    return out


@pytest.mark.parametrize("topic", ["backprop", "resnet", "deep", "gradient-flow", "wide"])
def test_every_word_of_a_hard_deck_is_readable_at_projector_size(topic: str) -> None:
    """Title, step and solution frames alike: no text under 24 px at 1280×720 (the grid is never
    shrunk to fit; a big grid's task and solution come through windows at the projector pitch)."""
    ex = byhand.make(topic, seed=2, level="hard")
    group = "layer" if topic == "wide" else "cell"  # wide's layer frames: many lines in the panel
    pdf = documents.slides(ex, group=group)[0]
    sizes = text_sizes_px(pdf)
    assert {k for k, _, _ in sizes} == set(range(len(PdfReader(io.BytesIO(pdf)).pages)))
    small = [(k, t, round(s, 1)) for k, t, s in sizes if s < FLOOR_PX - 0.05]
    assert not small, small[:10]


def test_a_long_step_panel_says_what_it_leaves_out() -> None:
    from byhand.printing.slides import PANEL_ROWS, panel_lines

    lines = [f"Z₁[{i},1] = 1·1 + 0·(−1) + 1·1 + 0·0 + 1 = 3" for i in range(1, 17)]
    out = panel_lines(lines)
    assert 1 < len(out) < len(lines) and out[-1] == f"… and {len(lines) - len(out) + 1} more, on the grid"
    assert len(out) <= PANEL_ROWS
    assert panel_lines(lines[:3]) == lines[:3]


def test_the_relu_gate_is_lit_where_its_backward_step_uses_it() -> None:
    """dZ = dA ⊙ [Z > 0]: the frame of each dZ cell lights dA's cell and the gate's cell beside it
    (not the forward Z far above), in print and in the HTML deck."""
    ex = byhand.make("backprop", seed=1, level="medium")
    fs = [f.to_json() for f in frames(ex)]
    plan = plan_deck(ex.to_dict(), fs)
    blocks = plan["exercise"]["blocks"]
    gate = next(i for i, b in enumerate(blocks) if b.get("gate") == "Z1")
    seen = 0
    for f, pf in zip(fs, plan["frames"]):
        if not (f["new"] and f["new"][0].startswith("dZ1:")):
            continue
        seen += 1
        lit = [i for i, s in enumerate(pf["states"][gate]) if s == "u"]
        assert [blocks[gate]["cells"][i]["g"] for i in lit] == [[int(v) for v in f["new"][0][4:].split(",")]]
        assert not any("u" in s for b, s in zip(blocks, pf["states"]) if b["tensor"] == "Z1")
    assert seen == 4
    html = documents.slides(ex, fmt="html")[0].decode()
    assert html.count('data-gate="Z1:') == 4 and "us.has(td.dataset.gate)" in html


def text_baselines(pdf: bytes) -> list[tuple[int, str, float]]:
    """(page, text, baseline height above the page's bottom, in pt) of every piece of text on every frame."""
    out: list[tuple[int, str, float]] = []
    for k, page in enumerate(PdfReader(io.BytesIO(pdf)).pages):

        def visit(text: str, cm: list[float], tm: list[float], font: object, size: float, k: int = k) -> None:
            if text.strip():
                out.append((k, text.strip(), tm[4] * cm[1] + tm[5] * cm[3] + cm[5]))

        page.extract_text(visitor_text=visit)
    return out


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_no_frame_cuts_its_text_off(lang: str) -> None:
    """A task too long to stand beside the grid (10 chapters' hard decks in English) was centred in its column and
    clipped at the top and the bottom of the frame: on the projector it began mid-sentence. Now no text of any
    frame stands above the header's line: the title frame gives a long task the whole frame, and the closing
    frame leaves out formulas that do not fit (they are on the title frame)."""
    from byhand.i18n import use_language

    topics = [t.name for t in byhand.topics()] if lang == "en" else ["resnet", "sampling", "lstm"]
    cut: list[tuple[str, int, str]] = []
    with use_language(lang):
        for topic in topics:
            pdf = documents.slides(byhand.make(topic, seed=1, level="hard"))[0]
            runs = text_baselines(pdf)
            for k in {k for k, _, _ in runs}:
                page = [(t, y) for j, t, y in runs if j == k]
                header = next(y for t, y in page if t.startswith("byhand:"))
                cut += [(topic, k, t) for t, y in page if y > header + 1 and not t.startswith("byhand:")]
    assert not cut, cut[:10]
