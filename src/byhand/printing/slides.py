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
#: How wide (in cells) a shelf of gradients may grow on a slide.
SLIDE_SHELF_WIDTH = 22.0


def frame_states(ex_plan: dict[str, Any], frame: dict[str, Any], given: set[str],
                 grads: set[str]) -> list[str]:
    """The state letters of every block of ``ex_plan`` in one frame (see the module docstring)."""
    copies: dict[str, str] = ex_plan.get("copies", {})

    def real(keys: list[str]) -> set[str]:
        return {copies.get(k, k) for k in keys}

    revealed = set(frame["revealed"])  # a copy's cell reveals nothing: its part shows its own value
    new = real(frame["new"])
    uses = real(frame["uses"])
    out = []
    for b in ex_plan["blocks"]:
        if b["tensor"] is None:  # the row of 1s is always there
            out.append("s" * len(b["cells"]))
            continue
        letters = []
        for cell in b["cells"]:
            k = cell_key(b["tensor"], cell["i"])
            if k in new:
                letters.append("g" if b["tensor"] in grads else "n")
            elif k not in given and k not in revealed:
                letters.append("h")
            elif k in uses:
                letters.append("u")
            else:
                letters.append("s")
        out.append("".join(letters))
    return out


def plan_deck(exercise: dict[str, Any], frames: list[dict[str, Any]], *,
              group: str = "cell") -> dict[str, Any]:
    """The print plan of a lecture deck: the exercise's grid once, then every frame's states.

    ``frames`` are :meth:`byhand.slides.Frame.to_json` dicts; the final frame's ``revealed``
    names every cell that is ever hidden, so every other cell is given and always shown."""
    if not frames:
        raise PrintError("a deck needs at least one frame")
    # landscape: let the shelves of gradients grow wider than the forward staircase
    ex_plan = plan_exercise(exercise, "", key=True, with_answers=False, shelf_width=SLIDE_SHELF_WIDTH)
    for b in ex_plan["blocks"]:  # the whiteboard has no numbered boxes: only values, as they come
        for cell in b["cells"]:
            cell.pop("badge", None)
    ex_plan.pop("qr_svg", None)
    ever = {k for f in frames for k in f["revealed"]}
    every = {cell_key(b["tensor"], c["i"]) for b in ex_plan["blocks"] if b["tensor"] for c in b["cells"]}
    given = every - ever
    grads = {b["tensor"] for b in ex_plan["blocks"] if b["style"] == "grad"}
    out_frames = []
    for f in frames:
        lines = list(f.get("lines") or [])
        if f["kind"] == "step" and group == "cell" and f["new"] and lines:
            name, _, idx = f["new"][0].partition(":")
            index = [int(i) for i in idx.split(",")] if idx else []
            lines = [f"{cell_label(exercise, name, index)} = {lines[0]}"]  # Z₁[1,1]: 1-based, as people count
        out_frames.append({
            "kind": f["kind"], "k": f["k"], "n": f["n"], "phase": f.get("phase", "forward"),
            "text": f.get("text", ""), "lines": lines,
            "states": frame_states(ex_plan, f, given, grads),
        })
    return {
        "format": SLIDES_FORMAT,
        "title": ex_plan["title"],
        "identity": ex_plan["identity"],
        "group": group,
        "exercise": ex_plan,
        "frames": out_frames,
    }
