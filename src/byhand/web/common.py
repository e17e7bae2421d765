"""What every part of the classroom server shares: errors, templates, the database call, forms and JSON,
server-side sessions (who is signed in), client addresses, and the security headers."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any, TypeVar

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import byhand
from byhand import credit, i18n
from byhand.errors import ByHandError
from byhand.exercise import parse_json
from byhand.i18n import M_, N_
from byhand.limits import check_answer
from byhand.topics import LEVELS
from byhand.web import sheets
from byhand.web.models import LoginSession, Student, Teacher
from byhand.web.names import clean_name
from byhand.web.security import csrf_ok, csrf_token, token_hash

log = logging.getLogger("byhand.web")
T = TypeVar("T")

MAX_BODY = 64 * 1024
MAX_ANSWERS = 400
MAX_ANSWER_LEN = 40
MAX_ITEMS = 30
MAX_SEED = 10**9
"""Practice seeds are 0 … 10⁹−1; an assignment's exercises are seeded from its secret salt, outside that range."""
MAX_ID = 2**31 - 1
"""Row ids are 32-bit integers (PostgreSQL's ``integer``): a larger id in a URL is simply not found."""
MAX_JSON_DEPTH = 8
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; style-src-attr 'unsafe-inline'; script-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")
"""The sheet places every block with a ``style`` attribute (``left``/``top``/``width`` in units of
the cell, computed by byhand, never from user text), so style *attributes* are allowed; style
sheets and every script still come only from byhand itself. Without it a browser drops the
positions and the grid collapses into one corner."""


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


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(".csv")


def error_json(message: str, status: int) -> JSONResponse:
    """An API error: ``error`` in the reader's language (the page shows it), ``error_en`` the same in English, which
    never changes with the language (for scripts and logs)."""
    return JSONResponse({"error": str(i18n.tr_message(message)), "error_en": str(message)}, status_code=status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    msg = exc.detail if isinstance(exc.detail, str) else N_("Something is wrong with this request.")
    if not isinstance(msg, i18n.Msg) and msg == HTTPStatus(exc.status_code).phrase:  # Starlette's own "Not Found"
        msg = (N_("There is nothing here, or it is not yours to see.") if exc.status_code == 404
               else N_("Something is wrong with this request."))
    if exc.status_code == 405:
        msg = N_("This page cannot be used that way.")
    if is_api(request):
        return error_json(msg, exc.status_code)
    return render(request, "error.html", {"status": exc.status_code, "message": msg}, status=exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    """A crash: it runs outside the language middleware, so the request's language is picked again here."""
    from byhand.web.lang import pick_language

    log.exception("internal error on %s %s", request.method, request.url.path)
    msg = N_("Something went wrong on the server. Your last saved answers are safe; please try again.")
    with i18n.use_language(pick_language(request.scope)):
        if is_api(request):
            return error_json(msg, 500)
        return render(request, "error.html", {"status": 500, "message": msg}, status=500)


# -- templates and the database ------------------------------------------------------------------


_env = Environment(loader=PackageLoader("byhand.web", "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True,
                   lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
_env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
_env.globals.update(tr=i18n.tr_text, languages=i18n.LANGUAGES, lang=i18n.current_language, js_words=i18n.js_words)
templates = Jinja2Templates(env=_env)


def render(request: Request, name: str, ctx: dict[str, Any] | None = None, status: int = 200) -> Response:
    has = "session" in request.scope
    session: dict[str, Any] = request.session if has else {}
    w: Who | None = getattr(request.state, "who", None)
    base = {"csrf": csrf_token(session) if has else "", "teacher_name": w.name if w and w.teacher_id else None,
            "student_name": w.name if w and w.student_id else None, "chapters": CHAPTERS, "levels": LEVELS}
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
        f = await request.form(max_files=0, max_fields=400)
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


def _depth(v: Any, most: int) -> bool:
    """Is ``v`` nested at most ``most`` deep? (iterative: a hostile body cannot exhaust the stack)"""
    stack = [(v, 0)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, dict | list):
            if d >= most:
                return False
            stack.extend((y, d + 1) for y in (x.values() if isinstance(x, dict) else x))
    return True


async def api_json(request: Request) -> dict[str, Any]:
    """The posted JSON body of a script call, after its X-CSRF-Token header is checked."""
    if not csrf_ok(request.session, request.headers.get("x-csrf-token")):
        raise fail(403, "The page has expired; reload it and try again.")
    body = await request.body()
    if not body:
        return {}
    if body.count(b"[") + body.count(b"{") > 2 * MAX_ANSWERS + 16:
        raise fail(400, "The request is nested too deeply.")
    try:
        data = parse_json(body, M_("the request"))  # strict: a key twice or deep nesting is refused, never a 500
    except ByHandError as e:
        raise fail(400, M_("The request is not valid JSON ({e}).", e=e)) from None
    if not isinstance(data, dict):
        raise fail(400, "The request must be a JSON object.")
    if not _depth(data, MAX_JSON_DEPTH):
        raise fail(400, "The request is nested too deeply.")
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
            raise fail(400, M_("the answer for blank {k} must be text", k=k))
        s = str(v)
        if len(s) > MAX_ANSWER_LEN:
            raise fail(400, M_("the answer for blank {k} is too long", k=k))
        try:
            check_answer(s)  # the limits of byhand.limits, before anything is computed (1e999999999)
        except ByHandError as e:
            raise fail(400, M_("the answer for blank {k}: {e}", k=k, e=e)) from None
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


async def get_exercise(topic: str, seed: int, level: str) -> byhand.Exercise:
    ex = sheets.made(topic, seed, level)
    if ex is not None:
        return ex
    try:
        return await run_in_threadpool(sheets.exercise, topic, seed, level)
    except ByHandError as e:
        raise fail(404, M_("This variant could not be made ({e}). Try a new variant.", e=e)) from None


def credit_json(ex: byhand.Exercise, answers: dict[str, str]) -> dict[str, Any]:
    """A check's answer to the page: per-blank verdicts (``follows`` for credit for the method) and the counts."""
    marks = credit.mark(ex, answers)
    right, follows, total = credit.scores(marks)
    return {"score": round(right / total, 4) if total else 1.0, "correct": right, "follows": follows, "total": total,
            "badges": {str(m.badge): {"verdict": m.verdict, "given": m.given} for m in marks}}


# -- who is asking: addresses behind a trusted proxy ----------------------------------------------


def client_ip(request: Request) -> str:
    """The client's address. Behind a proxy named in ``--trusted-proxy`` it is the right-most address in
    X-Forwarded-For that is not itself a trusted proxy; otherwise the socket's peer (the header is ignored)."""
    peer = request.client.host if request.client else "?"
    trusted: tuple[Any, ...] = request.app.state.trusted_proxies
    if not trusted or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for h in reversed(hops):
        if not _in(h, trusted):
            return h[:64]
    return peer


def _in(addr: str, nets: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in n for n in nets)


def parse_proxies(spec: str | None) -> tuple[Any, ...]:
    if not spec:
        return ()
    out = []
    for part in spec.split(","):
        part = part.strip()
        if part:
            try:
                out.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ByHandError(M_("--trusted-proxy: {part!r} is not an address or network (e.g. 127.0.0.1 or 10.0.0.0/8)",
                                     part=part)) from None
    return tuple(out)


# -- server-side sessions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """The signed-in teacher or student of a request (never both)."""

    session_id: int
    teacher_id: int | None
    student_id: int | None
    class_id: int | None
    name: str
    token_hash: str = ""


SESSION_LIFE = timedelta(days=60)
"""A signed-in device stays signed in this long (the cookie's Max-Age), unless it logs out or is signed out."""


class SessionStore:
    """Sessions live in the database (``login_sessions``); the cookie holds only a random token. Ending a session
    deletes its row, so a cookie saved before "Log out" is worth nothing — in every server process at once:

    - every page and script call reads the session from the database (one indexed query);
    - the Check call alone (the hot path of a class) takes who is asking from this process's memory, and the
      transaction that saves the check reads the session again by its token's hash
      (:class:`byhand.web.api.GroupCommit`): a revoked device's check is refused and nothing of it is saved.
    """

    MAX_KNOWN = 50_000

    def __init__(self, maker: sessionmaker[Session]) -> None:
        self.maker = maker
        self._known: dict[str, Who] = {}
        self._lock = threading.Lock()
        self._query = (select(LoginSession.id, LoginSession.teacher_id, LoginSession.student_id, LoginSession.created_at,
                              Teacher.name, Student.class_id, Student.name)
                       .outerjoin(Teacher, Teacher.id == LoginSession.teacher_id)
                       .outerjoin(Student, Student.id == LoginSession.student_id)
                       .where(LoginSession.token_hash == bindparam("h")))

    def known(self, token: str) -> Who | None:
        """Who this token was when last read from the database (for the Check call only: see the class doc)."""
        with self._lock:
            return self._known.get(token_hash(token))

    def lookup(self, token: str) -> Who | None:
        """The session named by ``token``, read from the database now (an expired one is deleted)."""
        h = token_hash(token)
        with self.maker() as s:
            r = s.execute(self._query, {"h": h}).first()
            if r is not None and r[3] < now() - SESSION_LIFE:  # as old as the cookie may be: over
                s.execute(delete(LoginSession).where(LoginSession.id == r[0]))
                s.commit()
                r = None
        w: Who | None = None
        if r is not None and r[1] is not None and r[4] is not None:
            w = Who(r[0], r[1], None, None, r[4], h)
        elif r is not None and r[2] is not None and r[5] is not None:
            w = Who(r[0], None, r[2], r[5], r[6], h)
        with self._lock:
            if w is None:
                self._known.pop(h, None)
            else:
                if len(self._known) >= self.MAX_KNOWN:
                    self._known.clear()
                self._known[h] = w
        return w

    def create(self, s: Session, *, teacher_id: int | None = None, student_id: int | None = None, agent: str = "") -> str:
        token = secrets.token_urlsafe(32)
        s.add(LoginSession(token_hash=token_hash(token), teacher_id=teacher_id, student_id=student_id, agent=agent[:120],
                           created_at=now()))
        return token

    def drop(self, h: str) -> None:
        """Forget a session this process remembered (by its token's hash): the database said it has ended."""
        with self._lock:
            self._known.pop(h, None)

    def forget(self) -> None:
        """Drop every remembered session (tidiness only: correctness never depends on this process's memory)."""
        with self._lock:
            self._known.clear()

    def end(self, token: str) -> None:
        with self.maker.begin() as s:
            s.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))
        self.drop(token_hash(token))


def _token(request: Request) -> str | None:
    tok = request.session.get("sid") if "session" in request.scope else None
    return tok if isinstance(tok, str) and 20 <= len(tok) <= 100 else None


async def who(request: Request) -> Who | None:
    """The signed-in teacher or student, from the server-side session named by the cookie (read from the database)."""
    if hasattr(request.state, "who"):
        return request.state.who  # type: ignore[no-any-return]
    tok = _token(request)
    w: Who | None = None
    if tok is not None:
        w = await run_in_threadpool(request.app.state.login_sessions.lookup, tok)
        if w is None:
            request.session.pop("sid", None)
    request.state.who = w
    return w


async def who_for_check(request: Request) -> Who | None:
    """Who sends a Check: from this process's memory when it has read the session before (the saving transaction
    reads it again), else from the database."""
    tok = _token(request)
    if tok is None:
        return None
    w = request.app.state.login_sessions.known(tok)
    return w if w is not None else await who(request)


def is_check(scope: Scope) -> bool:
    """A student's Check call: its session is verified where it is saved (see :class:`SessionStore`)."""
    p: str = scope["path"]
    return scope["method"] == "POST" and p.startswith("/api/student/a/") and p.endswith("/check")


class WhoMiddleware:
    """Resolve the session before the handler runs, so every page knows who is signed in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/static/") and not is_check(scope):
            await who(Request(scope))
        await self.app(scope, receive, send)


async def signin(request: Request, *, teacher_id: int | None = None, student_id: int | None = None) -> None:
    """Sign this device in as a teacher or a student: a new server-side session (the old one of this device ends),
    and a fresh CSRF token (rotated at every login and join)."""
    store: SessionStore = request.app.state.login_sessions
    old = request.session.get("sid")
    agent = request.headers.get("user-agent", "")

    def run() -> str:
        with store.maker.begin() as s:
            if isinstance(old, str):
                s.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(old)))
            return store.create(s, teacher_id=teacher_id, student_id=student_id, agent=agent)

    tok = await run_in_threadpool(run)
    if isinstance(old, str):
        store.drop(token_hash(old))
    request.session.clear()
    request.session["sid"] = tok
    csrf_token(request.session)


async def end_session(request: Request) -> None:
    tok = request.session.get("sid")
    if isinstance(tok, str):
        await run_in_threadpool(request.app.state.login_sessions.end, tok)
    request.session.clear()
    request.state.who = None


def teacher_only(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def wrapped(request: Request) -> Response:
        w = await who(request)
        if w is None or w.teacher_id is None:
            if request.method == "GET" and not is_api(request):
                return RedirectResponse("/teacher/login", status_code=303)
            raise fail(401, "Log in as a teacher first.")
        return await handler(request)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


# -- headers ---------------------------------------------------------------------------------------


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

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
                if self.hsts:
                    h.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                if not static:
                    h.append((b"cache-control", b"no-store"))
                msg["headers"] = h
            await send(msg)

        await self.app(scope, receive, send_with)


__all__ = ["clean_name"]
