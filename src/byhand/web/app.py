"""The classroom server: practice without an account, and classes, assignments and a gradebook for teachers.

Starlette (ASGI) with server-rendered Jinja2 templates and one small script. Every answer is checked on the
server; the page never carries an answer before the learner asks for it (a hint or the worked solution).
The handlers are split by who uses them: :mod:`~byhand.web.learner` (practice), :mod:`~byhand.web.student`
(joining and the exercise pages), :mod:`~byhand.web.api` (the student's script calls) and
:mod:`~byhand.web.teacher`; :mod:`~byhand.web.common` holds what they share.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from byhand.errors import ByHandError
from byhand.i18n import M_, fonts_dir
from byhand.web import api, learner, sheets, student, teacher
from byhand.web.common import (
    MAX_BODY,
    SESSION_LIFE,
    SecurityHeaders,
    SessionStore,
    WhoMiddleware,
    http_error,
    parse_proxies,
    server_error,
)
from byhand.web.db import check_secret, derive, make_engine, master_secret, migrate
from byhand.web.lang import LanguageMiddleware
from byhand.web.security import BodyLimit, RateLimit


def routes() -> Sequence[Route | Mount]:
    P = "/practice/{topic}/{level}/{seed:int}"
    A = "/api/student/a/{aid:int}/{k:int}"
    T = "/teacher/assignments/{aid:int}"
    C = "/teacher/classes/{cid:int}"
    return [
        Route("/", learner.home),
        Route("/healthz", learner.healthz),
        Route("/sheet.css", learner.sheet_css),
        Route("/practice", learner.practice_new),
        Route("/practice/{topic}/{level}/new", learner.practice_new),
        Route(P, learner.practice_page),
        Route("/api" + P + "/check", learner.practice_check, methods=["POST"]),
        Route("/api" + P + "/hint", learner.practice_hint, methods=["POST"]),
        Route("/api" + P + "/reveal", learner.practice_reveal, methods=["POST"]),
        Route("/join", student.join_page),
        Route("/join", student.join, methods=["POST"]),
        Route("/student", student.student_home),
        Route("/student/leave", student.student_leave, methods=["POST"]),
        Route("/student/a/{aid:int}/{k:int}", student.student_exercise),
        Route(A + "/check", api.student_check, methods=["POST"]),
        Route(A + "/hint", api.student_hint, methods=["POST"]),
        Route(A + "/reveal", api.student_reveal, methods=["POST"]),
        Route("/teacher/signup", teacher.signup_page),
        Route("/teacher/signup", teacher.signup, methods=["POST"]),
        Route("/teacher/login", teacher.login_page),
        Route("/teacher/login", teacher.login, methods=["POST"]),
        Route("/teacher/logout", teacher.logout, methods=["POST"]),
        Route("/teacher", teacher.teacher_home),
        Route("/teacher/invites", teacher.invites, methods=["POST"]),
        Route("/teacher/classes", teacher.class_create, methods=["POST"]),
        Route(C, teacher.class_page),
        Route(C + "/edit", teacher.class_edit, methods=["POST"]),
        Route(C + "/delete", teacher.class_delete, methods=["POST"]),
        Route(C + "/roster", teacher.roster_import, methods=["POST"]),
        Route(C + "/assignments", teacher.assignment_create, methods=["POST"]),
        Route("/teacher/students/{sid:int}", teacher.student_action, methods=["POST"]),
        Route("/teacher/students/{sid:int}/view", teacher.student_preview),
        Route(T, teacher.gradebook),
        Route(T + "/edit", teacher.assignment_edit, methods=["POST"]),
        Route(T + "/close", teacher.assignment_close, methods=["POST"]),
        Route(T + "/delete", teacher.assignment_delete, methods=["POST"]),
        Route(T + "/gradebook.csv", teacher.gradebook_csv),
        Route(T + "/totals.csv", teacher.totals_csv),
        Route(T + "/print.pdf", teacher.assignment_print),
        Route(T + "/key.pdf", teacher.assignment_key),
        Mount("/static", StaticFiles(packages=[("byhand.web", "static")]), name="static"),
        Mount("/fonts", StaticFiles(directory=str(fonts_dir())), name="fonts"),  # Devanagari, Bengali (offline)
    ]


def create_app(db: str | None = None, *, engine: Engine | None = None, secure_cookies: bool = False, signup: str = "invite",
               public_url: str | None = None, trusted_proxy: str | None = None, hsts: bool = False,
               key_file: Path | None = None) -> Starlette:
    """The ASGI app. ``db``: None (SQLite in the user data dir), a file path, ``sqlite:///…`` or ``postgresql://…``.

    ``signup``: ``open`` (anyone may make a teacher account), ``invite`` (the admin — the first account — sends
    one-time links) or ``closed`` (only the first account). ``public_url``: the address students type, for the
    join link and its QR code (the request's Host header is never used). ``trusted_proxy``: addresses whose
    X-Forwarded-For is believed. ``hsts``: send Strict-Transport-Security (serve over HTTPS only).
    """
    if signup not in teacher.SIGNUP_MODES:
        raise ByHandError(M_("--signup {signup!r}: use open, invite or closed", signup=signup))
    engine = engine if engine is not None else make_engine(db)
    migrate(engine)
    maker = sessionmaker(engine, expire_on_commit=False)
    master = master_secret(engine.url.render_as_string(hide_password=False), key_file)
    check_secret(maker, master)
    writer = api.GroupCommit(engine, SESSION_LIFE)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        writer.stop()

    app = Starlette(
        lifespan=lifespan,
        routes=list(routes()),
        middleware=[
            Middleware(SecurityHeaders, hsts=hsts),
            Middleware(BodyLimit, limit=MAX_BODY),
            Middleware(SessionMiddleware, secret_key=derive(master, "cookie").hex(), session_cookie="byhand_session",
                       max_age=int(SESSION_LIFE.total_seconds()), same_site="lax", https_only=secure_cookies or hsts),
            Middleware(WhoMiddleware),
            Middleware(LanguageMiddleware),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.engine = engine
    app.state.sessions = maker
    app.state.secret = derive(master, "print")
    app.state.print_seal = sheets.print_seal(app.state.secret.hex())  # paper printouts: sealed codes, not seeds
    """The server's secret for sealing printed codes (byhand.web.sheets): 32 bytes, derived from the master secret."""
    app.state.login_sessions = SessionStore(maker)
    app.state.writer = writer
    app.state.known = api.Known()
    app.state.signup = signup
    app.state.public_url = (public_url or "http://localhost:8000").rstrip("/")
    app.state.trusted_proxies = parse_proxies(trusted_proxy)
    app.state.print_gate = asyncio.Semaphore(1)
    # failures counted in the database (every process shares them), keys kept as HMACs with a derived key
    lim = functools.partial(RateLimit, engine, secret=derive(master, "rate-limits"))
    app.state.join_limit = lim("join", n=200, window=600)  # wrong class codes per address (a class behind one NAT)
    app.state.pin_limit = lim("pin", n=60, window=600)  # wrong PINs and unlisted names per class and address
    app.state.login_limit = lim("login", n=10, window=600)  # failed logins per address and e-mail
    app.state.account_limit = lim("account", n=50, window=3600)  # failed logins per e-mail, from any address
    app.state.signup_limit = lim("signup", n=5, window=3600)  # signups per address
    return app
