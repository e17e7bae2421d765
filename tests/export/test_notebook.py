"""Notebooks: an Exercise displays itself (the web page's grid, the diagram as SVG), ex.reveal(k)
shows the worked steps, and the example notebook runs from top to bottom (nbclient, a real kernel)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

import byhand
from byhand.notation import cell_label

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs/examples/by-hand.ipynb"


def test_repr_html_is_the_web_grid_and_the_diagram() -> None:
    ex = byhand.make("resnet", seed=3, level="hard")
    html = ex._repr_html_()
    # every blank cell carries its badge; the sheet also draws display copies (Aᵀ, dZ beside its
    # crossing) of some blanks, which carry the same badges, and no other badge appears
    assert 'class="sheet"' in html and html.count('class="badge"') >= sum(len(b.cells) for b in ex.blanks)
    assert set(map(int, re.findall(r'class="badge">(\d+)<', html))) == {b.badge for b in ex.blanks}
    for b in ex.blanks:
        for c in b.cells:
            assert f'data-cell="{c[0]}:{",".join(map(str, c[1]))}"' in html
    assert "<svg" in html
    # the page's style sheet is scoped: it styles the exercise, not the rest of the notebook
    css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    for rule in css.split("}"):
        if "{" in rule:
            for sel in rule.split("{")[0].split(","):
                assert sel.strip().startswith(".byhand-nb"), sel


def test_reveal_shows_the_first_k_steps() -> None:
    ex = byhand.make("backprop", seed=1, level="medium")
    task, one, all_ = ex.reveal(0), ex.reveal(1), ex.reveal()
    assert task.steps == [] and "the task" in task.html
    first = ex.steps[0]
    assert one.steps == [f"{cell_label(ex, *first.cell)} = {first.text}"] == ["Z₁[1,1] = 1·(−1) + 1·(−1) + 0·2 + (−1) = −3"]
    assert 'class="steps"' in one.html and "new" in one.html
    assert all_.k == all_.n and len(all_.steps) == all_.n
    # the full solution hides nothing: no empty box, every blank's value in its cell
    assert 'hidden"' not in all_.html
    assert len(one.html) > 0 and one._repr_html_() == one.html
    with pytest.raises(ValueError):
        ex.reveal(-1)


def test_the_example_notebook_runs(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    htmls = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(htmls) == 3  # the sheet, step 4, the full solution
    sheet = htmls[0]
    # the grid: the weights, the input and the layer's output meet, with the blanks' badges; the diagram
    for cell in ("W1:0,0", "X:0,0", "b1:0", "Z1:0,0", "A1:0,0", "W2:0,0", "Z2:0,0"):
        assert f'data-cell="{cell}"' in sheet, cell
    assert 'class="badge"' in sheet and "<svg" in sheet
    assert "step 4 of" in htmls[1] and "the full solution" in htmls[2]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "score: 3/" in text
    assert "Z1 = W1 @ X + b1[:, None]" in text and "L.backward()" in text
    assert len(re.findall(r"^Every tensor agrees with the sheet \(\d+ checked\)\.$", text, re.M)) == 2


def test_the_step_slider_walks_through_the_steps(tmp_path: Path) -> None:
    """In a browser (a trusted notebook runs the same script), the slider at k shows what reveal(k) shows."""
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = os.environ.get("BYHAND_CHROMIUM", "/usr/bin/chromium")
    if not shutil.which(chromium):
        pytest.skip(f"no chromium at {chromium}")
    ex = byhand.make("backprop", seed=1, level="medium")
    view = ex.reveal()
    page_file = tmp_path / "slider.html"
    page_file.write_text(f"<!doctype html><meta charset='utf-8'><body>{view._repr_html_()}</body>", encoding="utf-8")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        assert page.locator(".where").text_content() == "the full solution"
        assert page.locator("td.hidden").count() == 0
        for k in (0, 1, 5, view.n):
            page.locator("input.byhand-step").fill(str(k))
            still = ex.reveal(k)
            assert page.locator("td.hidden").count() == still.html.count(' hidden" data-cell'), k
            assert page.locator("ol.steps li").count() == len(still.steps) == k
            assert page.locator(".where").text_content() == ("the task" if k == 0 else f"step {k} of {view.n}")
            if k:
                assert page.locator("ol.steps li.current").text_content() == still.steps[-1]
                assert page.locator("td.new").count() == still.html.count(' new" data-cell') >= 1
                assert page.locator("td.uses").count() == still.html.count(' uses" data-cell')
        browser.close()
    assert not errors
