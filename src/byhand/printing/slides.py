"""Lecture mode in print: one 16:9 page per frame, drawn with the worksheet's own layout.

The grid is planned once (:func:`byhand.printing.layout.plan_exercise` in key mode, so every
value and ReLU's crossing-out is there); each frame then only says, per cell, what the projector
shows. A state is one letter per cell of each block, in the block's cell order:

* ``h`` hidden: the empty cell of the whiteboard grid (not yet computed; an inverse blank before
  the last frame),
* ``s`` shown,
* ``u`` shown and used by the current step (the row of W and the column of X that meet),
* ``n`` new in this frame (forward), ``g`` new in this frame and a gradient.

Frames come from :func:`byhand.slides.frames` as JSON (``Frame.to_json``): cells are named
``"W1:0,2"``. A joined copy drawn as its parts (``[W2 | I]``) has no cells of its own: the step
that copies a cell highlights the part cell it copies.  The plan holds no Typst source; ``templates/slides.typ`` draws it.
"""

from __future__ import annotations

from typing import Any

from byhand.notation import cell_label
from byhand.printing.errors import PrintError
from byhand.printing.layout import cell_key, plan_exercise

SLIDES_FORMAT = "byhand-slides/1"
#: One 1280×720 frame: the 16:9 page is 841.89 pt wide.
PROJECTOR_PPI = 1280 / (841.89 / 72)
#: The grid's cell side on a frame: digits at 0.4 × pitch are ≥ 24 px on a 1280×720 projector.
SLIDE_PITCH_MM = 14.2
#: The part of a frame the grid may use beside the step's panel, in cells at SLIDE_PITCH_MM
#: (188 mm × 141 mm of the 16:9 page): a larger grid is shown through a window of this size that
#: follows the cells in use.
SLIDE_WINDOW = (13.2, 9.9)
#: How wide (in cells) a shelf of gradients may grow on a slide.
SLIDE_SHELF_WIDTH = SLIDE_WINDOW[0]


def frame_states(ex_plan: dict[str, Any], frame: dict[str, Any], given: set[str],
                 grads: set[str]) -> list[str]:
    """The state letters of every block of ``ex_plan`` in one frame (see the module docstring)."""
    copies: dict[str, str] = ex_plan.get("copies", {})

    def real(keys: list[str]) -> set[str]:
        return {copies.get(k, k) for k in keys}

    revealed = set(frame["revealed"])  # a copy's cell reveals nothing: its part shows its own value
    new = real(frame["new"])
    uses = real(frame["uses"])
    # a cell drawn more than once (X on top of layer 1 and again in [A₁ ; X]) is lit only where the
    # step uses it: in the drawing nearest to the cell being computed
    spots: dict[str, list[tuple[int, int, float, float]]] = {}
    for bi, b in enumerate(ex_plan["blocks"]):
        if b["tensor"] is None and not b.get("gate"):
            continue
        for ci, cell in enumerate(b["cells"]):
            # a ReLU gate's cell stands for the sign of its Z: the backward step through that
            # ReLU uses it there, beside dA, rather than in the far-away forward Z
            key = cell_key(b["gate"], cell["g"]) if b["tensor"] is None else cell_key(b["tensor"], cell["i"])
            spots.setdefault(key, []).append(
                (bi, ci, b["x"] + (cell["c"] + 0.5) * b["cw"], b["y"] + cell["r"] + 0.5))
    targets = [(x, y) for k in new for _, _, x, y in spots.get(k, [])[:1]]
    lit: set[tuple[int, int]] = set()
    for k in uses:
        places = spots.get(k, [])
        if len(places) > 1 and targets:
            places = [min(places, key=lambda s: min(abs(s[2] - x) + abs(s[3] - y) for x, y in targets))]
        lit.update((bi, ci) for bi, ci, _, _ in places)
    out = []
    for bi, b in enumerate(ex_plan["blocks"]):
        if b["tensor"] is None:  # the row of 1s and the ReLU gates are always there; a gate lit when used
            out.append("".join("u" if (bi, ci) in lit else "s" for ci in range(len(b["cells"]))))
            continue
        letters = []
        for ci, cell in enumerate(b["cells"]):
            k = cell_key(b["tensor"], cell["i"])
            if k in new:
                letters.append("g" if b["tensor"] in grads else "n")
            elif k not in given and k not in revealed:
                letters.append("h")
            elif (bi, ci) in lit:
                letters.append("u")
            else:
                letters.append("s")
        out.append("".join(letters))
    return out


def viewport(ex_plan: dict[str, Any], new: list[str], uses: list[str]) -> dict[str, float] | None:
    """The window (in cells) a step frame shows: all of the grid when it fits the frame at the
    projector pitch, else a SLIDE_WINDOW-sized part of it around the step's new cells (the active
    layer), kept inside the grid.  A crossing's operands lie above and to the left of its result,
    so the new cells sit right of and below the window's centre.  None: the whole grid fits."""
    ww, wh = SLIDE_WINDOW
    cw, ch = ex_plan["canvas"]["width"], ex_plan["canvas"]["height"]
    if cw <= ww and ch <= wh:
        return None
    copies: dict[str, str] = ex_plan.get("copies", {})
    where: dict[str, tuple[float, float, float]] = {}  # a cell's first drawing (not a later copy)
    for b in ex_plan["blocks"]:
        if b["tensor"]:
            for c in b["cells"]:
                where.setdefault(cell_key(b["tensor"], c["i"]), (b["x"] + c["c"] * b["cw"], b["y"] + c["r"], b["cw"]))
    focus = [where[k] for k in (copies.get(k, k) for k in (new or uses)) if k in where]
    if not focus:
        return {"x": 0.0, "y": 0.0, "w": ww, "h": wh}
    x0 = min(x for x, _, _ in focus)
    x1 = max(x + w for x, _, w in focus)
    y0 = min(y for _, y, _ in focus)
    y1 = max(y + 1 for _, y, _ in focus)
    x = min(max((x0 + x1) / 2 - 0.6 * ww, 0.0), max(cw - ww, 0.0))
    y = min(max((y0 + y1) / 2 - 0.65 * wh, 0.0), max(ch - wh, 0.0))
    return {"x": x, "y": y, "w": ww, "h": wh}


#: The lines a step's panel holds at the floor size (85 mm wide, about 30 characters a line).
PANEL_ROWS = 16
PANEL_CHARS = 30


def panel_lines(lines: list[str]) -> list[str]:
    """A step's arithmetic as the panel can show it at the projector floor: the first lines that
    fit, then how many more there are (their values are on the grid beside it)."""
    out: list[str] = []
    rows = 0
    for i, line in enumerate(lines):
        need = -(-len(line) // PANEL_CHARS)
        if rows + need > PANEL_ROWS - (1 if i < len(lines) - 1 else 0):
            rest = len(lines) - i
            out.append(f"… and {rest} more, on the grid")
            break
        out.append(line)
        rows += need
    return out


def tiles(width: float, height: float) -> list[dict[str, float]]:
    """Windows of SLIDE_WINDOW that together cover a grid, row by row, each overlapping the one
    before by a cell (so a label at a window's edge is whole in the next); every cell's centre
    lies in at least one window."""
    ww, wh = SLIDE_WINDOW

    def starts(total: float, size: float) -> list[float]:
        if total <= size:
            return [0.0]
        out = [0.0]
        last = total - size
        while out[-1] < last - 1e-9:  # not ``out[-1] + size < total``: in floats that can stay true at the end
            out.append(min(out[-1] + size - 1.0, last))
        return out

    return [{"x": x, "y": y, "w": ww, "h": wh} for y in starts(height, wh) for x in starts(width, ww)]


def plan_deck(exercise: dict[str, Any], frames: list[dict[str, Any]], *,
              group: str = "cell") -> dict[str, Any]:
    """The print plan of a lecture deck: the exercise's grid once, then every frame's states.

    ``frames`` are :meth:`byhand.slides.Frame.to_json` dicts; the final frame's ``revealed``
    names every cell that is ever hidden, so every other cell is given and always shown."""
    if not frames:
        raise PrintError("a deck needs at least one frame")
    # landscape: let the shelves of gradients grow wider than the forward staircase
    ex_plan = plan_exercise(exercise, "", key=True, with_answers=False, shelf_width=SLIDE_SHELF_WIDTH,
                            max_width=SLIDE_WINDOW[0])
    for b in ex_plan["blocks"]:  # the whiteboard has no numbered boxes: only values, as they come
        for cell in b["cells"]:
            cell.pop("badge", None)
            cell.pop("copy", None)
    ex_plan.pop("qr_svg", None)
    ever = {k for f in frames for k in f["revealed"]}
    every = {cell_key(b["tensor"], c["i"]) for b in ex_plan["blocks"] if b["tensor"] for c in b["cells"]}
    given = every - ever
    grads = {b["tensor"] for b in ex_plan["blocks"] if b["style"] == "grad"}
    out_frames = []
    canvas = ex_plan["canvas"]
    big = canvas["width"] > SLIDE_WINDOW[0] or canvas["height"] > SLIDE_WINDOW[1]
    for f in frames:
        lines = list(f.get("lines") or [])
        if f["kind"] == "step" and group == "cell" and f["new"] and lines:
            name, _, idx = f["new"][0].partition(":")
            index = [int(i) for i in idx.split(",")] if idx else []
            lines = [f"{cell_label(exercise, name, index)} = {lines[0]}"]  # Z₁[1,1]: 1-based, as people count
        frame = {
            "kind": f["kind"], "k": f["k"], "n": f["n"], "phase": f.get("phase", "forward"),
            "text": f.get("text", ""), "lines": panel_lines(lines),
            "states": frame_states(ex_plan, f, given, grads),
            "view": viewport(ex_plan, f["new"], f["uses"]) if f["kind"] == "step" else None,
        }
        if not big or f["kind"] == "step":
            out_frames.append(frame)
        elif f["kind"] == "title":  # the task: where the sheet starts, at the projector pitch
            out_frames.append(frame | {"view": {"x": 0.0, "y": 0.0, "w": SLIDE_WINDOW[0], "h": SLIDE_WINDOW[1]}})
        else:  # the solution: the whole grid, one window a frame, never shrunk below the floor
            views = tiles(canvas["width"], canvas["height"])
            out_frames += [frame | {"view": v, "part": i, "parts": len(views)} for i, v in enumerate(views, start=1)]
    return {
        "format": SLIDES_FORMAT,
        "title": ex_plan["title"],
        "identity": ex_plan["identity"],
        "group": group,
        "exercise": ex_plan,
        "frames": out_frames,
    }
