"""The classroom server: practice without an account, and classes, assignments and a gradebook for teachers.

Starlette (ASGI) with server-rendered Jinja2 templates and one small script. Every answer is
checked on the server; the page never carries an answer before the learner asks for it
(a hint or the worked solution) or, in an assignment, before the exercise is submitted.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import queue
import re
import secrets
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import byhand
from byhand.errors import ByHandError
from byhand.exercise import parse_json
from byhand.limits import check_answer
from byhand.notation import cell_label
from byhand.render.html import CSS as SHEET_CSS
from byhand.topics import LEVELS
from byhand.web import sheets
from byhand.web.db import make_engine, migrate, secret_key
from byhand.web.models import Assignment, Klass, Reveal, Student, Submission, Teacher
from byhand.web.security import (
    BodyLimit,
    RateLimit,
    burn_time,
    clean_code,
    csrf_ok,
    csrf_token,
    hash_password,
    new_code,
    verify_password,
)

log = logging.getLogger("byhand.web")
T = TypeVar("T")

MAX_BODY = 64 * 1024
MAX_ANSWERS = 400
MAX_ANSWER_LEN = 40
MAX_ITEMS = 30
MAX_SEED = 10**9
MAX_ID = 2**31 - 1
"""Row ids are 32-bit integers (PostgreSQL's ``integer``): a larger id in a URL is simply not found."""
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'; object-src 'none'")


def _chapters() -> list[dict[str, Any]]:
    return [{"name": t.name, "title": t.title, "summary": t.summary, "chapter": t.chapter} for t in byhand.topics()]


CHAPTERS = _chapters()
CHAPTER_NAMES = {c["name"]: c for c in CHAPTERS}


def now() -> datetime:
    return datetime.now().replace(microsecond=0)


# -- errors ------------------------------------------------------------------------------------


def fail(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


def not_found() -> HTTPException:
    return fail(404, "There is nothing here, or it is not yours to see.")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(".csv")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    msg = exc.detail if isinstance(exc.detail, str) else "Something is wrong with this request."
    if exc.status_code == 405:
        msg = "This page cannot be used that way."
    if _is_api(request):
        return JSONResponse({"error": msg}, status_code=exc.status_code)
    return render(request, "error.html", {"status": exc.status_code, "message": msg}, status=exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    msg = "Something went wrong on the server. Your last saved answers are safe; please try again."
    if _is_api(request):
        return JSONResponse({"error": msg}, status_code=500)
    return render(request, "error.html", {"status": 500, "message": msg}, status=500)


# -- plumbing ----------------------------------------------------------------------------------


_env = Environment(loader=PackageLoader("byhand.web", "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True,
                   lstrip_blocks=True)
templates = Jinja2Templates(env=_env)


def render(request: Request, name: str, ctx: dict[str, Any] | None = None, status: int = 200) -> Response:
    session: dict[str, Any] = request.session if "session" in request.scope else {}
    base = {"csrf": csrf_token(session) if "session" in request.scope else "", "teacher_name": session.get("teacher_name"),
            "student_name": session.get("student_name"), "chapters": CHAPTERS, "levels": LEVELS}
    return templates.TemplateResponse(request, name, {**base, **(ctx or {})}, status_code=status)


async def db(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(session, *args)`` on a worker thread; it commits what it writes."""
    maker: sessionmaker[Session] = request.app.state.sessions

    def run() -> T:
        with maker() as s:
            return fn(s, *args)

    return await run_in_threadpool(run)


async def form(request: Request) -> dict[str, str]:
    """The posted form, after its CSRF token is checked."""
    try:
        f = await request.form(max_files=0, max_fields=100)
    except HTTPException:
        raise
    except Exception:
        raise fail(400, "The form could not be read.") from None
    data = {k: v for k, v in f.multi_items() if isinstance(v, str)}
    if not csrf_ok(request.session, data.get("csrf")):
        raise fail(403, "This form has expired (or came from another site). Go back, reload the page and try again.")
    multi: dict[str, list[str]] = defaultdict(list)
    for k, v in f.multi_items():
        if isinstance(v, str):
            multi[k].append(v)
    request.state.multi = multi
    return data


async def api_json(request: Request) -> dict[str, Any]:
    """The posted JSON body of a script call, after its X-CSRF-Token header is checked."""
    if not csrf_ok(request.session, request.headers.get("x-csrf-token")):
        raise fail(403, "The page has expired; reload it and try again.")
    body = await request.body()
    if not body:
        return {}
    try:
        data = parse_json(body, "the request")  # strict: a key twice or deep nesting is refused, never a 500
    except ByHandError as e:
        raise fail(400, f"The request is not valid JSON ({e}).") from None
    if not isinstance(data, dict):
        raise fail(400, "The request must be a JSON object.")
    return data


def parse_answers(data: dict[str, Any]) -> dict[str, str]:
    raw = data.get("answers", {})
    if not isinstance(raw, dict) or len(raw) > MAX_ANSWERS:
        raise fail(400, 'answers must be an object keyed by badge, e.g. {"1": "5"}')
    out: dict[str, str] = {}
    for k, v in raw.items():
        if not isinstance(k, str) or len(k) > 6:
            raise fail(400, "answers are keyed by badge number")
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise fail(400, f"the answer for blank {k} must be text")
        s = str(v)
        if len(s) > MAX_ANSWER_LEN:
            raise fail(400, f"the answer for blank {k} is too long")
        try:
            check_answer(s)  # the limits of byhand.limits, before anything is computed (1e999999999)
        except ByHandError as e:
            raise fail(400, f"the answer for blank {k}: {e}") from None
        out[k] = s
    return out


def int_param(request: Request, name: str, hi: int) -> int:
    raw = request.path_params.get(name)
    if isinstance(raw, int):
        v = raw
    else:
        try:
            v = int(str(raw))
        except ValueError:
            raise not_found() from None
    if not 0 <= v <= hi:
        raise not_found()
    return v


def practice_params(request: Request) -> tuple[str, str, int]:
    topic = str(request.path_params["topic"])
    level = str(request.path_params["level"])
    if topic not in CHAPTER_NAMES or level not in LEVELS:
        raise not_found()
    return topic, level, int_param(request, "seed", MAX_SEED)


async def get_exercise(topic: str, seed: int, level: str) -> byhand.Exercise:
    try:
        return await run_in_threadpool(sheets.exercise, topic, seed, level)
    except ByHandError as e:
        raise fail(404, f"This variant could not be made ({e}). Try a new variant.") from None


# -- pages: home and practice ------------------------------------------------------------------


async def home(request: Request) -> Response:
    return render(request, "home.html")


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
    })


async def practice_check(request: Request) -> Response:
    topic, level, seed = practice_params(request)
    answers = parse_answers(await api_json(request))
    ex = sheets.made(topic, seed, level) or await get_exercise(topic, seed, level)
    return JSONResponse(_verdicts(ex, answers))


async def practice_hint(request: Request) -> Response:
    topic, level, seed = practice_params(request)
    data = await api_json(request)
    ex = await get_exercise(topic, seed, level)
    badge = data.get("badge")
    h = sheets.hint(ex, badge) if isinstance(badge, int) and not isinstance(badge, bool) else None
    if h is None:
        raise fail(400, "Ask for a hint on one of the blanks.")
    return JSONResponse(h)


async def practice_reveal(request: Request) -> Response:
    topic, level, seed = practice_params(request)
    await api_json(request)
    await get_exercise(topic, seed, level)
    return JSONResponse(await run_in_threadpool(sheets.solution, topic, seed, level))


def _verdicts(ex: byhand.Exercise, answers: dict[str, str]) -> dict[str, Any]:
    r = ex.check(answers).to_json()
    r.pop("unknown_badges", None)
    return r


# -- students ----------------------------------------------------------------------------------

def client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_name(raw: str, most: int) -> str:
    """One line of text: runs of whitespace as one space, no control characters (PostgreSQL refuses NUL)."""
    return CONTROL.sub("", re.sub(r"\s+", " ", raw)).strip()[:most]


async def join_page(request: Request) -> Response:
    return render(request, "join.html", {"code": clean_code(request.query_params.get("code", ""))})


async def join(request: Request) -> Response:
    f = await form(request)
    name, code, pin = clean_name(f.get("name", ""), 60), clean_code(f.get("code", "")), clean_code(f.get("pin", ""))
    ip = client_ip(request)
    ctx = {"name": name, "code": code}
    if request.app.state.join_limit.blocked(ip):
        return render(request, "join.html", {**ctx, "error": "Too many wrong codes. Wait ten minutes, or ask your teacher."}, 429)
    if not name or not code:
        return render(request, "join.html", {**ctx, "error": "Type your name and the class code."}, 400)

    def work(s: Session) -> tuple[str, Student | None]:
        k = s.scalar(select(Klass).where(Klass.join_code == code))
        if k is None:
            return "no class", None
        st = s.scalar(select(Student).where(Student.class_id == k.id, Student.name == name))
        if st is not None:
            return ("back", st) if pin and secrets.compare_digest(st.pin, pin) else ("taken", None)
        st = Student(class_id=k.id, name=name, pin=new_code(4), created_at=now())
        s.add(st)
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            return "taken", None
        return "new", st

    what, st = await db(request, work)
    if st is None:
        request.app.state.join_limit.fail(ip)
        msg = ("No class has that code. Check it with your teacher." if what == "no class" else
               "Someone in this class already uses that name. If it is you, type the PIN you were given when you joined.")
        return render(request, "join.html", {**ctx, "error": msg, "ask_pin": what == "taken"}, 400)
    request.session["student"] = st.id
    request.session["student_name"] = st.name
    return RedirectResponse("/student", status_code=303)


def current_student(s: Session, request: Request) -> Student:
    sid = request.session.get("student")
    st = s.get(Student, sid) if isinstance(sid, int) else None
    if st is None:
        request.session.pop("student", None)
        raise fail(401, "Join your class first (with your name and the class code).")
    return st


Work = tuple[dict[tuple[int, int], Submission], dict[tuple[int, int], int]]


def latest_work(s: Session, aid: int, student_id: int | None = None) -> Work:
    q = select(Submission).where(Submission.assignment_id == aid)
    if student_id is not None:
        q = q.where(Submission.student_id == student_id)
    latest: dict[tuple[int, int], Submission] = {}
    attempts: dict[tuple[int, int], int] = defaultdict(int)
    for sub in s.scalars(q.order_by(Submission.id)):
        latest[(sub.student_id, sub.item)] = sub
        attempts[(sub.student_id, sub.item)] += 1
    return latest, attempts


def item_topic(a: Assignment, item: int) -> str:
    return a.topics[item % len(a.topics)]


async def student_home(request: Request) -> Response:
    if not isinstance(request.session.get("student"), int):
        return RedirectResponse("/join", status_code=303)

    def work(s: Session) -> dict[str, Any]:
        st = current_student(s, request)
        out = []
        for a in st.klass.assignments:
            latest, _ = latest_work(s, a.id, st.id)
            revealed = {r.item for r in s.scalars(select(Reveal).where(Reveal.assignment_id == a.id, Reveal.student_id == st.id))}
            items = []
            for k in range(a.count):
                sub = latest.get((st.id, k))
                items.append({"k": k, "topic": CHAPTER_NAMES[item_topic(a, k)]["title"],
                              "score": f"{sub.correct}/{sub.total}" if sub else None, "revealed": k in revealed})
            out.append({"a": a, "items": items})
        return {"student": st, "klass": st.klass, "assignments": out}

    return render(request, "student.html", await db(request, work))


def _student_item(s: Session, request: Request) -> tuple[Student, Assignment, int]:
    st = current_student(s, request)
    aid = int_param(request, "aid", MAX_ID)
    k = int_param(request, "k", MAX_ITEMS)
    a = s.get(Assignment, aid)
    if a is None or a.class_id != st.class_id or k >= a.count:
        raise not_found()
    return st, a, k


async def student_exercise(request: Request) -> Response:
    if not isinstance(request.session.get("student"), int):
        return RedirectResponse("/join", status_code=303)

    def work(s: Session) -> dict[str, Any]:
        st, a, k = _student_item(s, request)
        latest, attempts = latest_work(s, a.id, st.id)
        sub = latest.get((st.id, k))
        revealed = s.scalar(select(Reveal).where(Reveal.assignment_id == a.id, Reveal.student_id == st.id, Reveal.item == k))
        return {"topic": item_topic(a, k), "seed": sheets.student_seed(a.salt, st.id, k), "level": a.level, "a": a, "k": k,
                "given": sub.answers if sub else {}, "score": f"{sub.correct}/{sub.total}" if sub else None,
                "attempts": attempts.get((st.id, k), 0), "revealed": revealed is not None}

    w = await db(request, work)
    ex = await get_exercise(w["topic"], w["seed"], w["level"])
    sheet = await run_in_threadpool(sheets.page_sheet, w["topic"], w["seed"], w["level"])
    a = w["a"]
    return render(request, "exercise.html", {
        **w, "ex": ex, "sheet": sheet, "mode": "assignment", "api": f"/api/student/a/{a.id}/{w['k']}",
        "chapter": CHAPTER_NAMES[w["topic"]], "given_json": json.dumps(w["given"]), "count": a.count,
    })


@dataclass(frozen=True)
class AssignmentInfo:
    """What a check needs of an assignment. Assignments are never edited, so this is kept in memory."""

    class_id: int
    salt: int
    topics: tuple[str, ...]
    level: str
    count: int
    due_at: datetime | None


class Known:
    """Per-app memory of facts that never change: an assignment's settings, a student's class."""

    def __init__(self) -> None:
        self.assignments: dict[int, AssignmentInfo] = {}
        self.student_class: dict[int, int] = {}


def _assignment_info(engine: Engine, known: Known, aid: int) -> AssignmentInfo | None:
    _assignments = known.assignments
    key = aid
    info = _assignments.get(key)
    if info is None:
        with engine.connect() as conn:
            row = conn.execute(select(Assignment.class_id, Assignment.salt, Assignment.topics, Assignment.level, Assignment.count,
                                      Assignment.due_at).where(Assignment.id == aid)).first()
        if row is None:
            return None
        info = AssignmentInfo(row[0], row[1], tuple(row[2]), row[3], row[4], row[5])
        if len(_assignments) > 10_000:
            _assignments.clear()
        _assignments[key] = info
    return info


def _class_of(engine: Engine, known: Known, sid: int) -> int | None:
    _student_class = known.student_class
    key = sid
    cid = _student_class.get(key)
    if cid is None:
        with engine.connect() as conn:
            cid = conn.execute(select(Student.class_id).where(Student.id == sid)).scalar()
        if cid is None:
            return None
        if len(_student_class) > 100_000:
            _student_class.clear()
        _student_class[key] = cid
    return cid


class GroupCommit:
    """One writer thread that commits submissions in batches: one fsync for all the checks that arrived meanwhile.

    A check is answered only after the transaction holding it has committed (SQLite: WAL with
    synchronous=FULL), so "saved" always means on disk; under load many checks share one commit.
    The same transaction refuses a submission to an exercise whose solution was opened.
    """

    MAX_BATCH = 256

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.q: queue.SimpleQueue[tuple[dict[str, Any], asyncio.AbstractEventLoop, asyncio.Future[int | None]] | None] = (
            queue.SimpleQueue())
        self.thread = threading.Thread(target=self._run, name="byhand-group-commit", daemon=True)
        self.thread.start()

    async def insert(self, values: dict[str, Any]) -> int | None:
        """The new submission's id, or None if the exercise is closed (its solution was opened)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int | None] = loop.create_future()
        self.q.put((values, loop, fut))
        return await fut

    def stop(self) -> None:
        self.q.put(None)
        self.thread.join(10)

    def _run(self) -> None:
        while True:
            first = self.q.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.MAX_BATCH:
                try:
                    nxt = self.q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self.q.put(None)
                    break
                batch.append(nxt)
            results: list[int | None] = []
            try:
                with self.engine.connect() as conn:
                    for values, _, _ in batch:
                        closed = conn.execute(select(Reveal.id).where(Reveal.assignment_id == values["assignment_id"],
                                                                      Reveal.student_id == values["student_id"],
                                                                      Reveal.item == values["item"])).first()
                        if closed:
                            results.append(None)
                            continue
                        r = conn.execute(insert(Submission).values(**values))
                        results.append(int(r.inserted_primary_key[0]) if r.inserted_primary_key else 0)
                    conn.commit()
            except Exception as e:  # nothing in this batch was saved: each request gets an error, none says "saved"
                log.exception("could not save %d submissions", len(batch))
                for _, loop, fut in batch:
                    loop.call_soon_threadsafe(_settle, fut, None, e)
                continue
            for (_, loop, fut), rid in zip(batch, results):
                loop.call_soon_threadsafe(_settle, fut, rid, None)


def _settle(fut: asyncio.Future[int | None], value: int | None, exc: BaseException | None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)


async def student_check(request: Request) -> Response:
    """The hot path of a class: check a student's answers, commit them, then answer "saved"."""
    answers = parse_answers(await api_json(request))
    sid = request.session.get("student")
    if not isinstance(sid, int):
        raise fail(401, "Join your class first (with your name and the class code).")
    aid, k = int_param(request, "aid", MAX_ID), int_param(request, "k", MAX_ITEMS)
    engine, known = request.app.state.engine, request.app.state.known
    cid = known.student_class.get(sid)
    if cid is None:
        cid = await run_in_threadpool(_class_of, engine, known, sid)
    if cid is None:
        raise fail(401, "Join your class first (with your name and the class code).")
    a = known.assignments.get(aid)
    if a is None:
        a = await run_in_threadpool(_assignment_info, engine, known, aid)
    if a is None or a.class_id != cid or not 0 <= k < a.count:
        raise not_found()
    topic, seed = a.topics[k % len(a.topics)], sheets.student_seed(a.salt, sid, k)
    ex = sheets.made(topic, seed, a.level) or await get_exercise(topic, seed, a.level)
    res = ex.check(answers)
    verdicts = {str(v.badge): {"verdict": v.verdict, "given": v.given, "cell": cell_label(ex, *v.cells[0])} for v in res.verdicts}
    late = a.due_at is not None and now() > a.due_at
    sub_id = await request.app.state.writer.insert(dict(
        student_id=sid, assignment_id=aid, item=k, answers=answers, verdicts=verdicts, correct=res.correct, total=res.total,
        late=late, created_at=now()))
    if sub_id is None:
        raise fail(409, "You opened the worked solution of this exercise, so it takes no more answers.")
    out = res.to_json()
    out.pop("unknown_badges", None)
    out.update({"saved": True, "submission": sub_id, "late": late})
    return JSONResponse(out)


async def student_reveal(request: Request) -> Response:
    await api_json(request)

    def work(s: Session) -> tuple[str, int, str]:
        st, a, k = _student_item(s, request)
        has = s.scalar(select(Submission.id).where(Submission.assignment_id == a.id, Submission.student_id == st.id,
                                                   Submission.item == k).limit(1))
        if has is None:
            raise fail(403, "Check (submit) your answers first; then you may see the worked solution.")
        if s.scalar(select(Reveal.id).where(Reveal.assignment_id == a.id, Reveal.student_id == st.id, Reveal.item == k)) is None:
            s.add(Reveal(student_id=st.id, assignment_id=a.id, item=k, created_at=now()))
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
        return item_topic(a, k), sheets.student_seed(a.salt, st.id, k), a.level

    topic, seed, level = await db(request, work)
    await get_exercise(topic, seed, level)
    return JSONResponse(await run_in_threadpool(sheets.solution, topic, seed, level))


async def student_hint(request: Request) -> Response:
    await api_json(request)
    raise fail(403, "Hints are off in an assignment. Check your answers, then open the worked solution.")


async def student_leave(request: Request) -> Response:
    await form(request)
    request.session.pop("student", None)
    request.session.pop("student_name", None)
    return RedirectResponse("/", status_code=303)


# -- teachers ----------------------------------------------------------------------------------

EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,189}$")
"""At most 254 characters, as the column holds; no control characters."""


async def signup_page(request: Request) -> Response:
    return render(request, "signup.html")


def _login(request: Request, t: Teacher) -> None:
    request.session.pop("csrf", None)  # a fresh token after logging in
    request.session["teacher"] = t.id
    request.session["teacher_name"] = t.name


async def signup(request: Request) -> Response:
    f = await form(request)
    name, email, pw = clean_name(f.get("name", ""), 100), f.get("email", "").strip().lower(), f.get("password", "")
    ctx = {"name": name, "email": email}
    if not name or not EMAIL.match(email):
        return render(request, "signup.html", {**ctx, "error": "Type your name and a valid e-mail address."}, 400)
    if not 8 <= len(pw) <= 200:
        return render(request, "signup.html", {**ctx, "error": "The password needs 8 to 200 characters."}, 400)
    hashed = await run_in_threadpool(hash_password, pw)

    def work(s: Session) -> Teacher | None:
        t = Teacher(email=email, name=name, password_hash=hashed, created_at=now())
        s.add(t)
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            return None
        return t

    t = await db(request, work)
    if t is None:
        msg = "There is already an account with that e-mail. Log in instead."
        return render(request, "signup.html", {**ctx, "error": msg}, 400)
    _login(request, t)
    return RedirectResponse("/teacher", status_code=303)


async def login_page(request: Request) -> Response:
    return render(request, "login.html")


async def login(request: Request) -> Response:
    f = await form(request)
    email, pw = f.get("email", "").strip().lower()[:254], f.get("password", "")[:200]
    key = f"{client_ip(request)}|{email}"
    if request.app.state.login_limit.blocked(key):
        return render(request, "login.html", {"email": email, "error": "Too many failed logins. Wait ten minutes."}, 429)
    t = await db(request, lambda s: s.scalar(select(Teacher).where(Teacher.email == email))) if EMAIL.match(email) else None
    ok = False
    if t is not None:
        ok = await run_in_threadpool(verify_password, pw, t.password_hash)
    else:
        await run_in_threadpool(burn_time, pw)  # as slow as a wrong password: no hint that the e-mail is unknown
    if t is None or not ok:
        request.app.state.login_limit.fail(key)
        return render(request, "login.html", {"email": email, "error": "That e-mail and password do not match."}, 400)
    _login(request, t)
    return RedirectResponse("/teacher", status_code=303)


async def logout(request: Request) -> Response:
    await form(request)
    request.session.pop("teacher", None)
    request.session.pop("teacher_name", None)
    request.session.pop("csrf", None)
    return RedirectResponse("/", status_code=303)


def current_teacher(s: Session, request: Request) -> Teacher:
    tid = request.session.get("teacher")
    t = s.get(Teacher, tid) if isinstance(tid, int) else None
    if t is None:
        request.session.pop("teacher", None)
        raise fail(401, "Log in as a teacher first.")
    return t


def own_class(s: Session, request: Request) -> Klass:
    t = current_teacher(s, request)
    k = s.get(Klass, int_param(request, "cid", MAX_ID))
    if k is None or k.teacher_id != t.id:
        raise not_found()
    return k


def own_assignment(s: Session, request: Request) -> Assignment:
    t = current_teacher(s, request)
    a = s.get(Assignment, int_param(request, "aid", MAX_ID))
    if a is None or a.klass.teacher_id != t.id:
        raise not_found()
    return a


def _teacher_only(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def wrapped(request: Request) -> Response:
        if not isinstance(request.session.get("teacher"), int):
            if request.method == "GET" and not _is_api(request):
                return RedirectResponse("/teacher/login", status_code=303)
            raise fail(401, "Log in as a teacher first.")
        return await handler(request)

    return wrapped


@_teacher_only
async def teacher_home(request: Request) -> Response:
    def work(s: Session) -> dict[str, Any]:
        t = current_teacher(s, request)
        return {"classes": [{"k": k, "students": len(k.students), "assignments": len(k.assignments)} for k in t.classes]}

    return render(request, "teacher.html", await db(request, work))


@_teacher_only
async def class_create(request: Request) -> Response:
    f = await form(request)
    name = clean_name(f.get("name", ""), 100)
    if not name:
        raise fail(400, "Give the class a name.")

    def work(s: Session) -> int:
        t = current_teacher(s, request)
        for _ in range(20):
            k = Klass(teacher_id=t.id, name=name, join_code=new_code(6), created_at=now())
            s.add(k)
            try:
                s.commit()
                return k.id
            except IntegrityError:
                s.rollback()
        raise fail(500, "Could not make a join code; try again.")

    cid = await db(request, work)
    return RedirectResponse(f"/teacher/classes/{cid}", status_code=303)


@_teacher_only
async def class_page(request: Request) -> Response:
    def work(s: Session) -> dict[str, Any]:
        k = own_class(s, request)
        return {"k": k, "students": list(k.students), "assignments": list(k.assignments)}

    w = await db(request, work)
    join_url = f"{request.base_url}join?code={w['k'].join_code}"
    return render(request, "class.html", {**w, "join_url": join_url})


@_teacher_only
async def assignment_create(request: Request) -> Response:
    f = await form(request)
    topics = [t for t in request.state.multi.get("topics", []) if t in CHAPTER_NAMES]
    topics = list(dict.fromkeys(topics))
    title = clean_name(f.get("title", ""), 100)
    level = f.get("level", "")
    try:
        count = int(f.get("count", ""))
    except ValueError:
        count = 0
    due: datetime | None = None
    if f.get("due", "").strip():
        try:
            due = datetime.fromisoformat(f["due"].strip())
        except ValueError:
            raise fail(400, "The due date is not a date; use the date picker (YYYY-MM-DD HH:MM).") from None
    if not topics or level not in LEVELS or not 1 <= count <= MAX_ITEMS:
        raise fail(400, f"Choose at least one chapter, a level, and 1 to {MAX_ITEMS} exercises.")

    def work(s: Session) -> int:
        k = own_class(s, request)
        a = Assignment(class_id=k.id, title=title or ", ".join(CHAPTER_NAMES[t]["title"].split(" —")[0] for t in topics)[:100],
                       topics=topics, level=level, count=count, due_at=due, salt=secrets.randbelow(2**62), created_at=now())
        s.add(a)
        s.commit()
        return a.id

    aid = await db(request, work)
    return RedirectResponse(f"/teacher/assignments/{aid}", status_code=303)


def gradebook_data(s: Session, a: Assignment) -> dict[str, Any]:
    students = list(a.klass.students)
    latest, attempts = latest_work(s, a.id)
    revealed = {(r.student_id, r.item) for r in s.scalars(select(Reveal).where(Reveal.assignment_id == a.id))}
    rows = []
    wrong: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for st in students:
        cells = []
        got = tot = 0
        for k in range(a.count):
            sub = latest.get((st.id, k))
            if sub is not None:
                got, tot = got + sub.correct, tot + sub.total
                for v in sub.verdicts.values():
                    w = wrong[(item_topic(a, k), str(v.get("cell")))]
                    w[1] += 1
                    w[0] += v.get("verdict") != "correct"
            badges = [{"badge": b, **v} for b, v in sorted((sub.verdicts if sub else {}).items(), key=lambda x: int(x[0]))]
            cells.append({"k": k, "sub": sub, "attempts": attempts.get((st.id, k), 0), "revealed": (st.id, k) in revealed,
                          "badges": badges})
        rows.append({"student": st, "cells": cells, "score": f"{got}/{tot}" if tot else "—"})
    worst = sorted(((w[0], w[1], t, c) for (t, c), w in wrong.items() if w[0]), key=lambda x: (-x[0], x[2], x[3]))[:10]
    return {"a": a, "k": a.klass, "rows": rows, "items": [{"k": k, "topic": item_topic(a, k)} for k in range(a.count)],
            "worst": [{"wrong": w, "of": n, "topic": t, "cell": c} for w, n, t, c in worst]}


@_teacher_only
async def gradebook(request: Request) -> Response:
    return render(request, "gradebook.html", await db(request, lambda s: gradebook_data(s, own_assignment(s, request))))


def _csv_safe(v: Any) -> Any:
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(r"-[\d./]+", v):
        return "'" + v  # a spreadsheet must not run a student's text as a formula
    return v


@_teacher_only
async def gradebook_csv(request: Request) -> Response:
    def work(s: Session) -> tuple[str, str]:
        a = own_assignment(s, request)
        g = gradebook_data(s, a)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["student", "exercise", "chapter", "seed", "badge", "cell", "given", "verdict", "attempts", "submitted_at",
                    "late", "solution_opened"])
        for r in g["rows"]:
            st = r["student"]
            for c in r["cells"]:
                k = c["k"]
                seed = sheets.student_seed(a.salt, st.id, k)
                sub = c["sub"]
                if sub is None:
                    w.writerow([_csv_safe(st.name), k + 1, item_topic(a, k), seed, "", "", "", "not submitted", 0, "", "", ""])
                    continue
                for b in c["badges"]:
                    w.writerow([_csv_safe(st.name), k + 1, item_topic(a, k), seed, b["badge"], b.get("cell"),
                                _csv_safe(b.get("given") or ""), b.get("verdict"), c["attempts"],
                                sub.created_at.isoformat(), int(sub.late), int(c["revealed"])])
        return buf.getvalue(), re.sub(r"[^A-Za-z0-9_-]+", "-", a.title)[:40] or "assignment"

    text, name = await db(request, work)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="byhand-{name}.csv"'})


MAX_EXTRA = 200


def extra_param(request: Request) -> int:
    """``?extra=N``: anonymous copies to print besides the roster, 0 to 200."""
    raw = request.query_params.get("extra", "").strip() or "0"
    try:
        n = int(raw)
    except ValueError:
        n = -1
    if not 0 <= n <= MAX_EXTRA:
        raise fail(400, f"Extra copies must be a whole number from 0 to {MAX_EXTRA}.")
    return n


@dataclass(frozen=True)
class PrintJob:
    """What printing an assignment needs, read from the database: the roster and the seeding."""

    title: str
    class_name: str
    salt: int
    topics: tuple[str, ...]
    level: str
    count: int
    students: tuple[tuple[int, str], ...]


def print_roster(job: PrintJob, extra: int) -> list[tuple[str, list[byhand.Exercise]]]:
    """Every student on the roster with exactly the exercises they get on screen, then ``extra`` anonymous copies."""
    def ex(topic: str, seed: int) -> byhand.Exercise:
        return sheets.made(topic, seed, job.level) or byhand.make(topic, seed=seed, level=job.level)

    named = [(name, sheets.assignment_items(job.salt, job.topics, job.count, sid)) for sid, name in job.students]
    taken = {it for _, items in named for it in items}
    extras = sheets.extra_items(job.salt, job.topics, job.count, extra, taken)
    return [(name, [ex(t, seed) for t, seed in items]) for name, items in [*named, *(("", e) for e in extras)]]


def _print_pdf(job: PrintJob, extra: int, key: bool, seal: Any = None) -> bytes:
    from byhand import documents

    roster = print_roster(job, extra)
    if key:
        note = f"{job.class_name} · level {job.level}" + (f" · {extra} extra cop{'y' if extra == 1 else 'ies'}" if extra else "")
        return documents.roster_key(roster, title=job.title, note=note, seal=seal)
    return documents.roster_sheets(roster, title=job.title, seal=seal)


async def _assignment_pdf(request: Request, key: bool) -> Response:
    extra = extra_param(request)

    def work(s: Session) -> PrintJob:
        a = own_assignment(s, request)
        return PrintJob(a.title, a.klass.name, a.salt, tuple(a.topics), a.level, a.count,
                        tuple((st.id, st.name) for st in a.klass.students))

    job = await db(request, work)
    if not job.students and not extra:
        raise fail(400, "Nobody has joined this class yet, so there is nobody to print for. Print extra copies instead.")
    try:
        pdf = await run_in_threadpool(_print_pdf, job, extra, key, request.app.state.print_seal)
    except ByHandError as e:
        raise fail(400, f"This assignment could not be printed: {e}") from None
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", job.title)[:40] or "assignment"
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": f'attachment; filename="byhand-{name}-{"key" if key else "class"}.pdf"'})


@_teacher_only
async def assignment_print(request: Request) -> Response:
    """The assignment on paper: one section per student with their own on-screen variants, no answers."""
    return await _assignment_pdf(request, key=False)


@_teacher_only
async def assignment_key(request: Request) -> Response:
    """The answer key of :func:`assignment_print` (with the same ``?extra=``)."""
    return await _assignment_pdf(request, key=True)


async def sheet_css(request: Request) -> Response:
    return Response(SHEET_CSS, media_type="text/css", headers={"cache-control": "public, max-age=3600"})


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


# -- the app -----------------------------------------------------------------------------------


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/") or scope["path"] == "/sheet.css"

        async def send_with(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                h = list(msg.get("headers", []))
                h += [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                      (b"referrer-policy", b"same-origin"), (b"content-security-policy", CSP.encode())]
                if not static:
                    h.append((b"cache-control", b"no-store"))
                msg["headers"] = h
            await send(msg)

        await self.app(scope, receive, send_with)


def routes() -> Sequence[Route | Mount]:
    P = "/practice/{topic}/{level}/{seed:int}"
    A = "/api/student/a/{aid:int}/{k:int}"
    return [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/sheet.css", sheet_css),
        Route("/practice", practice_new),
        Route("/practice/{topic}/{level}/new", practice_new),
        Route(P, practice_page),
        Route("/api" + P + "/check", practice_check, methods=["POST"]),
        Route("/api" + P + "/hint", practice_hint, methods=["POST"]),
        Route("/api" + P + "/reveal", practice_reveal, methods=["POST"]),
        Route("/join", join_page),
        Route("/join", join, methods=["POST"]),
        Route("/student", student_home),
        Route("/student/leave", student_leave, methods=["POST"]),
        Route("/student/a/{aid:int}/{k:int}", student_exercise),
        Route(A + "/check", student_check, methods=["POST"]),
        Route(A + "/hint", student_hint, methods=["POST"]),
        Route(A + "/reveal", student_reveal, methods=["POST"]),
        Route("/teacher/signup", signup_page),
        Route("/teacher/signup", signup, methods=["POST"]),
        Route("/teacher/login", login_page),
        Route("/teacher/login", login, methods=["POST"]),
        Route("/teacher/logout", logout, methods=["POST"]),
        Route("/teacher", teacher_home),
        Route("/teacher/classes", class_create, methods=["POST"]),
        Route("/teacher/classes/{cid:int}", class_page),
        Route("/teacher/classes/{cid:int}/assignments", assignment_create, methods=["POST"]),
        Route("/teacher/assignments/{aid:int}", gradebook),
        Route("/teacher/assignments/{aid:int}/gradebook.csv", gradebook_csv),
        Route("/teacher/assignments/{aid:int}/print.pdf", assignment_print),
        Route("/teacher/assignments/{aid:int}/key.pdf", assignment_key),
        Mount("/static", StaticFiles(packages=[("byhand.web", "static")]), name="static"),
    ]


def create_app(db: str | None = None, *, engine: Engine | None = None, secure_cookies: bool = False) -> Starlette:
    """The ASGI app. ``db``: None (SQLite in the user data dir), a file path, ``sqlite:///…`` or ``postgresql://…``."""
    engine = engine if engine is not None else make_engine(db)
    migrate(engine)
    maker = sessionmaker(engine, expire_on_commit=False)
    key = secret_key(maker)
    writer = GroupCommit(engine)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        writer.stop()

    app = Starlette(
        lifespan=lifespan,
        routes=list(routes()),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodyLimit, limit=MAX_BODY),
            Middleware(SessionMiddleware, secret_key=key, session_cookie="byhand_session", max_age=60 * 60 * 24 * 60,
                       same_site="lax", https_only=secure_cookies),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.engine = engine
    app.state.print_seal = sheets.print_seal(key)  # paper printouts: sealed codes, not seeds
    app.state.sessions = maker
    app.state.writer = writer
    app.state.known = Known()
    app.state.join_limit = RateLimit(n=20, window=600)  # wrong join codes per address
    app.state.login_limit = RateLimit(n=10, window=600)  # failed logins per address and e-mail
    return app
