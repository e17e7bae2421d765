"""The learner without an account: the home page, and practice (a variant, Check, the hint ladder, Reveal)."""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from byhand.i18n import tr_text
from byhand.render.html import CSS as SHEET_CSS
from byhand.topics import LEVELS
from byhand.web import hints, sheets
from byhand.web.common import (
    CHAPTER_NAMES,
    MAX_SEED,
    api_json,
    credit_json,
    fail,
    get_exercise,
    int_param,
    not_found,
    parse_answers,
    render,
)


def practice_params(request: Request) -> tuple[str, str, int]:
    """Chapter, level and seed of a practice URL. Seeds are 0 … 10⁹−1: an assignment's exercise is never one."""
    topic = str(request.path_params["topic"])
    level = str(request.path_params["level"])
    if topic not in CHAPTER_NAMES or level not in LEVELS:
        raise not_found()
    return topic, level, int_param(request, "seed", MAX_SEED - 1)


async def home(request: Request) -> Response:
    level = request.query_params.get("level", "medium")
    return render(request, "home.html", {"level": level if level in LEVELS else "medium"})


async def practice_new(request: Request) -> Response:
    topic = request.query_params.get("topic", request.path_params.get("topic", ""))
    level = request.query_params.get("level", request.path_params.get("level", "medium"))
    if topic not in CHAPTER_NAMES or level not in LEVELS:
        raise fail(404, "Pick a chapter and a level from the list.")
    return RedirectResponse(f"/practice/{topic}/{level}/{secrets.randbelow(MAX_SEED)}", status_code=303)


async def practice_page(request: Request) -> Response:
    topic, level, seed = practice_params(request)
    ex = await get_exercise(topic, seed, level)
    sheet = await run_in_threadpool(sheets.page_sheet, topic, seed, level)
    return render(request, "exercise.html", {
        "ex": ex, "sheet": sheet, "mode": "practice", "api": f"/api/practice/{topic}/{level}/{seed}",
        "new_url": f"/practice/{topic}/{level}/new", "chapter": CHAPTER_NAMES[topic], "level": level, "seed": seed,
        "hints_on": True,
    })


async def practice_check(request: Request) -> Response:
    topic, level, seed = practice_params(request)
    answers = parse_answers(await api_json(request))
    ex = await get_exercise(topic, seed, level)
    return JSONResponse(await run_in_threadpool(credit_json, ex, answers))


def hint_request(data: dict[str, object]) -> tuple[int, int]:
    badge, level = data.get("badge"), data.get("level", 1)
    if not isinstance(badge, int) or isinstance(badge, bool) or not isinstance(level, int) or isinstance(level, bool) \
            or level not in hints.LEVELS:
        raise fail(400, "Ask for a hint on one of the blanks, at level 1, 2 or 3.")
    return badge, level


async def practice_hint(request: Request) -> Response:
    topic, level, seed = practice_params(request)
    badge, rung = hint_request(await api_json(request))
    ex = await get_exercise(topic, seed, level)
    h = hints.hint(ex, badge, rung)
    if h is None:
        raise fail(400, "Ask for a hint on one of the blanks.")
    h["text"] = tr_text(h.get("text", ""))  # in the page's language (byhand.i18n)
    return JSONResponse(h)


async def practice_reveal(request: Request) -> Response:
    topic, level, seed = practice_params(request)
    await api_json(request)
    await get_exercise(topic, seed, level)
    return JSONResponse(await run_in_threadpool(sheets.solution, topic, seed, level))


async def sheet_css(request: Request) -> Response:
    return Response(SHEET_CSS, media_type="text/css", headers={"cache-control": "public, max-age=3600"})


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")
