"""The teacher: an account (signup open, by invitation or closed; the first account is the admin), classes,
students (roster, rename, merge, PIN reset, sessions), assignments (edit, close, attempts, hints, credit), the
gradebook and its CSVs, and printing."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import secrets
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

import byhand
from byhand.errors import ByHandError
from byhand.i18n import M_, N_, tr_text
from byhand.topics import LEVELS
from byhand.web import sheets
from byhand.web.common import (
    CHAPTER_NAMES,
    MAX_ID,
    MAX_ITEMS,
    client_ip,
    db,
    end_session,
    fail,
    form,
    int_param,
    not_found,
    now,
    render,
    signin,
    teacher_only,
    who,
)
from byhand.web.models import Assignment, HintUse, Invite, Klass, LoginSession, Reveal, Student, Submission, Teacher
from byhand.web.names import clean_name, display_name, name_key
from byhand.web.security import (
    PIN_LENGTH,
    burn_time,
    hash_password,
    hash_pin,
    needs_rehash,
    new_code,
    token_hash,
    verify_password,
)
from byhand.web.student import item_topic, student_view

EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,189}$")
"""At most 254 characters, as the column holds; no control characters."""
SIGNUP_MODES = ("open", "invite", "closed")
CREDIT_MODES = {"strict": N_("nothing (strict)"), "half": N_("half a mark"), "full": N_("a full mark")}
CREDIT_WORDS = (N_("strict"), N_("half"), N_("full"))
"""The modes' names as the gradebook shows them (in the page's language)."""
INVITE_LIFE = timedelta(days=7)
MAX_EXTRA = 40
MAX_PRINT_EXERCISES = 3000
"""Exercises in one PDF (students and extra copies × exercises): a class of 100 with 30 exercises."""
MAX_ROSTER = 500
PAGE = 50
"""Students per gradebook page."""


# -- accounts -------------------------------------------------------------------------------------


async def signup_page(request: Request) -> Response:
    mode = request.app.state.signup
    first = await db(request, lambda s: s.scalar(select(func.count()).select_from(Teacher)) == 0)
    invite = request.query_params.get("invite", "")[:100]
    return render(request, "signup.html", {"mode": mode, "first": first, "invite": invite})


async def signup(request: Request) -> Response:
    """Make an account. The answer never tells whether an e-mail is registered: a new account and an e-mail that
    has one both go to the login page with the same words, after the same work."""
    f = await form(request)
    mode = request.app.state.signup
    name, email, pw = clean_name(f.get("name", ""), 100), f.get("email", "").strip().lower(), f.get("password", "")
    invite = f.get("invite", "").strip()[:100]
    ctx = {"name": name, "email": email, "mode": mode, "invite": invite}
    ip = client_ip(request)
    if await request.app.state.signup_limit.blocked(ip):
        return render(request, "signup.html", {**ctx, "error": N_("Too many accounts from this network. Try again in an hour.")},
                      429)
    if not name or not EMAIL.match(email):
        return render(request, "signup.html", {**ctx, "error": N_("Type your name and a valid e-mail address.")}, 400)
    if not 8 <= len(pw) <= 200:
        return render(request, "signup.html", {**ctx, "error": N_("The password needs 8 to 200 characters.")}, 400)
    hashed = await run_in_threadpool(hash_password, pw)

    def work(s: Session) -> str:
        first = s.scalar(select(func.count()).select_from(Teacher)) == 0
        inv = None
        if not first and mode == "closed":
            return "closed"
        if not first and mode == "invite":
            inv = s.scalar(select(Invite).where(Invite.token_hash == token_hash(invite), Invite.used_at.is_(None),
                                                Invite.created_at > now() - INVITE_LIFE)) if invite else None
            if inv is None:
                return "invite"
        t = Teacher(email=email, name=name, password_hash=hashed, is_admin=first, created_at=now())
        s.add(t)
        try:
            s.flush()
        except IntegrityError:
            s.rollback()
            return "done"  # the e-mail has an account: said exactly as for a new one
        if inv is not None:
            inv.used_at = now()
        s.commit()
        return "done"

    what = await db(request, work)
    await request.app.state.signup_limit.fail(ip)
    if what == "closed":
        return render(request, "signup.html", {**ctx, "error": N_("This server does not take new accounts. Ask its admin.")}, 403)
    if what == "invite":
        return render(request, "signup.html", {**ctx, "error": N_("An account needs an invitation here; the link from your "
                                                                  "admin has it. This one is missing, used or wrong.")}, 403)
    return RedirectResponse("/teacher/login?made=1", status_code=303)


async def login_page(request: Request) -> Response:
    return render(request, "login.html", {"made": request.query_params.get("made") == "1"})


async def login(request: Request) -> Response:
    f = await form(request)
    email, pw = f.get("email", "").strip().lower()[:254], f.get("password", "")[:200]
    key = f"{client_ip(request)}|{email}"
    lim = request.app.state.login_limit
    if await lim.blocked(key) or await request.app.state.account_limit.blocked(email):
        return render(request, "login.html", {"email": email, "error": N_("Too many failed logins. Wait ten minutes.")}, 429)
    t = await db(request, lambda s: s.scalar(select(Teacher).where(Teacher.email == email))) if EMAIL.match(email) else None
    ok = False
    if t is not None:
        ok = await run_in_threadpool(verify_password, pw, t.password_hash)
    else:
        await run_in_threadpool(burn_time, pw)  # as slow as a wrong password: no hint that the e-mail is unknown
    if t is None or not ok:
        await lim.fail(key)
        await request.app.state.account_limit.fail(email)
        return render(request, "login.html", {"email": email, "error": N_("That e-mail and password do not match.")}, 400)
    if needs_rehash(t.password_hash):  # an older, weaker hash: made again at today's cost, now that we know the password
        fresh = await run_in_threadpool(hash_password, pw)
        tid = t.id

        def rehash(s: Session) -> None:
            s.execute(update(Teacher).where(Teacher.id == tid).values(password_hash=fresh))
            s.commit()

        await db(request, rehash)
    await signin(request, teacher_id=t.id)
    return RedirectResponse("/teacher", status_code=303)


async def logout(request: Request) -> Response:
    await form(request)
    await end_session(request)
    return RedirectResponse("/", status_code=303)


def current_teacher(s: Session, request: Request) -> Teacher:
    w = request.state.who
    t = s.get(Teacher, w.teacher_id) if w is not None and w.teacher_id is not None else None
    if t is None:
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


def own_student(s: Session, request: Request, sid: int | None = None) -> Student:
    t = current_teacher(s, request)
    st = s.get(Student, sid if sid is not None else int_param(request, "sid", MAX_ID))
    if st is None or st.klass.teacher_id != t.id:
        raise not_found()
    return st


@teacher_only
async def invites(request: Request) -> Response:
    """The admin makes a one-time invitation link for a colleague (``--signup invite``)."""
    await form(request)
    token = secrets.token_urlsafe(18)

    def work(s: Session) -> bool:
        t = current_teacher(s, request)
        if not t.is_admin:
            return False
        s.add(Invite(token_hash=token_hash(token), created_by=t.id, created_at=now()))
        s.commit()
        return True

    if not await db(request, work):
        raise fail(403, "Only the admin (the first account) can invite teachers.")
    return await _teacher_home(request, invite_url=f"{request.app.state.public_url}/teacher/signup?invite={token}")


@teacher_only
async def teacher_home(request: Request) -> Response:
    return await _teacher_home(request)


async def _teacher_home(request: Request, invite_url: str | None = None) -> Response:
    def work(s: Session) -> dict[str, Any]:
        t = current_teacher(s, request)
        return {"teacher": t, "classes": [{"k": k, "students": len(k.students), "assignments": len(k.assignments)}
                                          for k in t.classes]}

    return render(request, "teacher.html", {**await db(request, work), "invite_url": invite_url,
                                            "signup": request.app.state.signup})


# -- classes ----------------------------------------------------------------------------------------


@teacher_only
async def class_create(request: Request) -> Response:
    f = await form(request)
    name = clean_name(f.get("name", ""), 100)
    if not name:
        raise fail(400, "Give the class a name.")

    def work(s: Session) -> int:
        t = current_teacher(s, request)
        for _ in range(20):
            k = Klass(teacher_id=t.id, name=name, join_code=new_code(6), roster_only=False, created_at=now())
            s.add(k)
            try:
                s.commit()
                return k.id
            except IntegrityError:
                s.rollback()
        raise fail(500, "Could not make a join code; try again.")

    cid = await db(request, work)
    return RedirectResponse(f"/teacher/classes/{cid}", status_code=303)


def _device(agent: str) -> str:
    """A short name for a browser from its User-Agent: "Chrome on Android", "Safari on iPhone"."""
    a = agent.lower()
    os_ = next((n for k, n in (("iphone", "iPhone"), ("ipad", "iPad"), ("android", "Android"), ("cros", "Chromebook"),
                               ("windows", "Windows"), ("mac os", "Mac"), ("linux", "Linux")) if k in a), "")
    br = next((n for k, n in (("edg/", "Edge"), ("firefox", "Firefox"), ("chrome", "Chrome"), ("chromium", "Chromium"),
                              ("safari", "Safari")) if k in a), None)
    if br is None:
        return M_("a browser on {system}", system=os_) if os_ else M_("a browser")
    return M_("{browser} on {system}", browser=br, system=os_) if os_ else br


def join_qr(url: str) -> str:
    """The join link as an SVG QR code (a data: URI, made here: nothing is fetched)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=5, border=2))


@teacher_only
async def class_page(request: Request) -> Response:
    return await _class_page(request)


async def _class_page(request: Request, pins: list[tuple[str, str]] | None = None, note: str = "") -> Response:
    def work(s: Session) -> dict[str, Any]:
        k = own_class(s, request)
        devices: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
        for sid, agent, since in s.execute(select(LoginSession.student_id, LoginSession.agent, LoginSession.created_at)
                                           .join(Student, Student.id == LoginSession.student_id)
                                           .where(Student.class_id == k.id).order_by(LoginSession.id)):
            if sid is not None:
                devices[sid].append((_device(agent), since))
        return {"k": k, "students": [{"s": st, "sessions": len(devices[st.id]), "devices": devices[st.id],
                                      "locked": st.locked_until is not None and st.locked_until > now()} for st in k.students],
                "assignments": list(k.assignments)}

    v = await db(request, work)
    join_url = f"{request.app.state.public_url}/join?code={v['k'].join_code}"
    return render(request, "class.html", {**v, "join_url": join_url, "join_base": f"{request.app.state.public_url}/join",
                                          "qr": join_qr(join_url), "pins": pins or [], "note": note,
                                          "credit_modes": CREDIT_MODES})


@teacher_only
async def class_edit(request: Request) -> Response:
    f = await form(request)
    name = clean_name(f.get("name", ""), 100)
    if not name:
        raise fail(400, "Give the class a name.")

    def work(s: Session) -> int:
        k = own_class(s, request)
        k.name, k.roster_only = name, f.get("roster_only") == "on"
        s.commit()
        return k.id

    cid = await db(request, work)
    return RedirectResponse(f"/teacher/classes/{cid}", status_code=303)


@teacher_only
async def class_delete(request: Request) -> Response:
    f = await form(request)

    def work(s: Session) -> None:
        k = own_class(s, request)
        if f.get("confirm", "").strip() != k.name:
            raise fail(400, "To delete the class, type its name exactly in the box.")
        _drop_class(s, k.id)
        s.commit()

    await db(request, work)
    request.app.state.login_sessions.forget()
    return RedirectResponse("/teacher", status_code=303)


def _drop_students(s: Session, ids: list[int]) -> None:
    """Delete students and everything of theirs (explicitly: SQLite's cascades need a pragma on every connection)."""
    if not ids:
        return
    for model in (Submission, Reveal, HintUse):
        s.execute(delete(model).where(model.student_id.in_(ids)))
    s.execute(delete(LoginSession).where(LoginSession.student_id.in_(ids)))
    s.execute(delete(Student).where(Student.id.in_(ids)))


def _drop_assignment(s: Session, aid: int) -> None:
    for model in (Submission, Reveal, HintUse):
        s.execute(delete(model).where(model.assignment_id == aid))
    s.execute(delete(Assignment).where(Assignment.id == aid))


def _drop_class(s: Session, cid: int) -> None:
    _drop_students(s, list(s.scalars(select(Student.id).where(Student.class_id == cid))))
    for aid in list(s.scalars(select(Assignment.id).where(Assignment.class_id == cid))):
        _drop_assignment(s, aid)
    s.execute(delete(Klass).where(Klass.id == cid))


def roster_names(text: str) -> list[str]:
    """Names from a pasted roster: one per line, or a CSV whose first row names a ``name`` column (or
    ``first name`` and ``last name``)."""
    rows = [r for r in csv.reader(io.StringIO(text.replace("\r\n", "\n"))) if any(c.strip() for c in r)]
    if not rows:
        return []
    head = [name_key(c) for c in rows[0]]
    if "name" in head:
        i = head.index("name")
        rows = [[r[i]] if i < len(r) else [] for r in rows[1:]]
    elif "first name" in head and "last name" in head:
        i, j = head.index("first name"), head.index("last name")
        rows = [[f"{r[i] if i < len(r) else ''} {r[j] if j < len(r) else ''}"] for r in rows[1:]]
    else:
        rows = [[" ".join(c.strip() for c in r if c.strip())] for r in rows]
    out: list[str] = []
    seen: set[str] = set()
    for r in rows:
        n = display_name(r[0] if r else "")
        if n and name_key(n) not in seen:
            seen.add(name_key(n))
            out.append(n)
    return out


@teacher_only
async def roster_import(request: Request) -> Response:
    """Add the students of a roster (pasted, one name a line or CSV). Each new student gets a PIN, shown once here."""
    f = await form(request)
    names = roster_names(f.get("roster", "")[:60_000])
    if not names or len(names) > MAX_ROSTER:
        raise fail(400, M_("Paste 1 to {max_roster} names, one a line (or a CSV with a name column).", max_roster=MAX_ROSTER))
    pins = {n: new_code(PIN_LENGTH) for n in names}
    hashed = {n: await run_in_threadpool(hash_pin, p) for n, p in pins.items()}

    def work(s: Session) -> list[tuple[str, str]]:
        k = own_class(s, request)
        have = set(s.scalars(select(Student.name_key).where(Student.class_id == k.id)))
        made = []
        for n in names:
            if name_key(n) in have:
                continue
            s.add(Student(class_id=k.id, name=n, name_key=name_key(n), pin_hash=hashed[n], pin_fails=0, created_at=now()))
            made.append((n, pins[n]))
        s.commit()
        return made

    made = await db(request, work)
    skipped = len(names) - len(made)
    added = M_("Added 1 student", n=1) if len(made) == 1 else M_("Added {n} students", n=len(made))
    note = M_("{added}{skipped}. Hand each their PIN now: it is shown only this once (a new one can be made with Reset PIN).",
              added=added, skipped=M_("; {n} already in the class", n=skipped) if skipped else "")
    return await _class_page(request, pins=made, note=note)


# -- students ----------------------------------------------------------------------------------------


@teacher_only
async def student_action(request: Request) -> Response:
    """Rename, merge into another, reset the PIN (which also lifts a lockout), sign out everywhere, or delete."""
    f = await form(request)
    action = f.get("action", "")
    fresh_pin = new_code(PIN_LENGTH)
    fresh_hash = await run_in_threadpool(hash_pin, fresh_pin) if action == "reset_pin" else ""

    def work(s: Session) -> tuple[int, list[tuple[str, str]], str]:
        st = own_student(s, request)
        cid = st.class_id
        if action == "rename":
            name = display_name(f.get("name", ""))
            if not name:
                raise fail(400, "Type the new name.")
            clash = s.scalar(select(Student).where(Student.class_id == cid, Student.name_key == name_key(name),
                                                   Student.id != st.id))
            if clash is not None:
                raise fail(400, M_("{name} is already in this class; merge the two instead.", name=clash.name))
            st.name, st.name_key = name, name_key(name)
            s.commit()
            return cid, [], M_("Renamed to {name}.", name=name)
        if action == "merge":
            try:
                into = own_student(s, request, int(f.get("into", "")))
            except ValueError:
                raise fail(400, "Choose the student to merge into.") from None
            if into.class_id != cid or into.id == st.id:
                raise fail(400, "Merge into another student of the same class.")
            # both students' attempts, renumbered 1, 2, … per exercise in the order they were saved (the attempt
            # number is unique per student and exercise); first out of the way (negative), then in place
            s.execute(update(Submission).where(Submission.student_id.in_([st.id, into.id]))
                      .values(student_id=into.id, attempt=-Submission.id))
            seen: dict[tuple[int, int], int] = defaultdict(int)
            for rid, aid_, item in s.execute(select(Submission.id, Submission.assignment_id, Submission.item)
                                             .where(Submission.student_id == into.id).order_by(Submission.id)).all():
                seen[(aid_, item)] += 1
                s.execute(update(Submission).where(Submission.id == rid).values(attempt=seen[(aid_, item)]))
            had = set(s.execute(select(HintUse.assignment_id, HintUse.item, HintUse.badge, HintUse.level)
                                .where(HintUse.student_id == into.id)).all())
            for h in list(s.scalars(select(HintUse).where(HintUse.student_id == st.id))):
                if (h.assignment_id, h.item, h.badge, h.level) in had:
                    s.delete(h)  # the same rung asked by both: counted once
                else:
                    h.student_id = into.id
            theirs = set(s.scalars(select(Reveal.assignment_id * 100 + Reveal.item).where(Reveal.student_id == into.id)))
            for r in list(s.scalars(select(Reveal).where(Reveal.student_id == st.id))):
                if r.assignment_id * 100 + r.item in theirs:
                    s.delete(r)
                else:
                    r.student_id = into.id
            s.flush()
            _drop_students(s, [st.id])
            s.commit()
            return cid, [], M_("{name}'s work now belongs to {into}.", name=st.name, into=into.name)
        if action == "reset_pin":
            st.pin_hash, st.pin_fails, st.locked_until = fresh_hash, 0, None
            s.execute(delete(LoginSession).where(LoginSession.student_id == st.id))
            s.commit()
            return cid, [(st.name, fresh_pin)], M_("A new PIN for {name} (their devices are signed out).", name=st.name)
        if action == "signout":
            n = len(list(s.scalars(select(LoginSession.id).where(LoginSession.student_id == st.id))))
            s.execute(delete(LoginSession).where(LoginSession.student_id == st.id))
            s.commit()
            return cid, [], (M_("{name} is signed out on 1 device.", name=st.name) if n == 1 else
                             M_("{name} is signed out on {n} devices.", name=st.name, n=n))
        if action == "delete":
            if f.get("confirm") != "yes":
                raise fail(400, "Tick the box to confirm deleting the student and all their work.")
            name = st.name
            _drop_students(s, [st.id])
            s.commit()
            return cid, [], M_("{name} and their work are deleted.", name=name)
        raise fail(400, "Unknown action.")

    cid, pins, note = await db(request, work)
    request.app.state.login_sessions.forget()
    request.path_params["cid"] = cid
    return await _class_page(request, pins=pins, note=note)


@teacher_only
async def student_preview(request: Request) -> Response:
    """A student's class page exactly as they see it (read-only; their PIN is never shown)."""
    view = await db(request, lambda s: student_view(s, own_student(s, request)))
    return render(request, "student.html", {**view, "preview": True})


# -- assignments ----------------------------------------------------------------------------------------


def _settings(f: dict[str, str]) -> dict[str, Any]:
    due: datetime | None = None
    if f.get("due", "").strip():
        try:
            due = datetime.fromisoformat(f["due"].strip())
        except ValueError:
            raise fail(400, "The due date is not a date; use the date picker (YYYY-MM-DD HH:MM).") from None
    try:
        attempts = int(f.get("max_attempts", "3") or "3")
    except ValueError:
        attempts = 0
    if not 1 <= attempts <= 20:
        raise fail(400, "Attempts per exercise: 1 to 20 (each check with feedback is one).")
    credit = f.get("credit", "half")
    if credit not in CREDIT_MODES:
        raise fail(400, "Choose how an answer that follows from the student's own counts: strict, half or full.")
    return {"due_at": due, "max_attempts": attempts, "credit": credit, "hints": f.get("hints") == "on",
            "close_at_due": f.get("close_at_due") == "on"}


@teacher_only
async def assignment_create(request: Request) -> Response:
    f = await form(request)
    topics = list(dict.fromkeys(t for t in request.state.multi.get("topics", []) if t in CHAPTER_NAMES))
    title = clean_name(f.get("title", ""), 100)
    level = f.get("level", "")
    try:
        count = int(f.get("count", ""))
    except ValueError:
        count = 0
    if not topics or level not in LEVELS or not 1 <= count <= MAX_ITEMS:
        raise fail(400, M_("Choose at least one chapter, a level, and 1 to {max_items} exercises.", max_items=MAX_ITEMS))
    if "hints" not in f and f.get("settings") != "1":
        f = {**f, "hints": "on"}  # a form without the settings part: hints stay on
    opts = _settings(f)

    def work(s: Session) -> int:
        k = own_class(s, request)
        a = Assignment(class_id=k.id, title=title or ", ".join(CHAPTER_NAMES[t]["title"].split(" —")[0] for t in topics)[:100],
                       topics=topics, level=level, count=count, salt=secrets.randbelow(2**62), created_at=now(), **opts)
        s.add(a)
        s.commit()
        return a.id

    aid = await db(request, work)
    return RedirectResponse(f"/teacher/assignments/{aid}", status_code=303)


@teacher_only
async def assignment_edit(request: Request) -> Response:
    """Change an assignment's title and settings (its exercises stay: students keep their work)."""
    f = await form(request)
    opts = _settings(f)
    title = clean_name(f.get("title", ""), 100)

    def work(s: Session) -> int:
        a = own_assignment(s, request)
        if title:
            a.title = title
        for k, v in opts.items():
            setattr(a, k, v)
        s.commit()
        return a.id

    aid = await db(request, work)
    request.app.state.known.forget()
    return RedirectResponse(f"/teacher/assignments/{aid}", status_code=303)


@teacher_only
async def assignment_close(request: Request) -> Response:
    f = await form(request)
    reopen = f.get("reopen") == "1"

    def work(s: Session) -> int:
        a = own_assignment(s, request)
        a.closed_at = None if reopen else now()
        if reopen:
            a.close_at_due = False
        s.commit()
        return a.id

    aid = await db(request, work)
    request.app.state.known.forget()
    return RedirectResponse(f"/teacher/assignments/{aid}", status_code=303)


@teacher_only
async def assignment_delete(request: Request) -> Response:
    f = await form(request)

    def work(s: Session) -> int:
        a = own_assignment(s, request)
        if f.get("confirm") != "yes":
            raise fail(400, "Tick the box to confirm deleting the assignment and every answer to it.")
        cid = a.class_id
        _drop_assignment(s, a.id)
        s.commit()
        return cid

    cid = await db(request, work)
    request.app.state.known.forget()
    return RedirectResponse(f"/teacher/classes/{cid}", status_code=303)


# -- the gradebook ------------------------------------------------------------------------------------


def counted(a: Assignment, correct: int, follows: int) -> float:
    """A score as the teacher chose to count answers that follow from the student's own earlier ones."""
    return correct + {"strict": 0.0, "half": 0.5, "full": 1.0}[a.credit if a.credit in CREDIT_MODES else "half"] * follows


def _num(x: float) -> str:
    return f"{x:g}"


VERDICT_OF = {"c": "correct", "w": "wrong", "b": "blank", "n": "not a number", "f": "follows"}
GLYPH = {"c": "✓", "w": "✗", "b": "·", "n": "?", "f": "→"}


@dataclass
class Latest:
    """A student's latest submission to one exercise, as the gradebook needs it (no JSON unless asked)."""

    attempts: int
    correct: int
    total: int
    carried: int
    late: bool
    created_at: datetime
    marks: str
    id: int
    verdicts: dict[str, Any] | None = None


def latest_rows(s: Session, aid: int, student_ids: list[int] | None,
                with_verdicts: bool = False) -> dict[tuple[int, int], Latest]:
    """One aggregate query (latest id and attempts per student and exercise, by the index
    ``ix_submissions_latest``) joined to those rows' scalar columns."""
    grp = select(Submission.student_id.label("sid"), Submission.item.label("item"), func.max(Submission.id).label("last"),
                 func.count().label("n")).where(Submission.assignment_id == aid)
    if student_ids is not None:
        grp = grp.where(Submission.student_id.in_(student_ids))
    g = grp.group_by(Submission.student_id, Submission.item).subquery()
    cols = [g.c.sid, g.c.item, g.c.n, Submission.correct, Submission.total, Submission.carried, Submission.late,
            Submission.created_at, Submission.marks, Submission.id]
    if with_verdicts:
        cols.append(Submission.verdicts)
    out: dict[tuple[int, int], Latest] = {}
    for r in s.execute(select(*cols).join(Submission, Submission.id == g.c.last)):
        out[(r[0], r[1])] = Latest(int(r[2]), r[3], r[4], r[5], bool(r[6]), r[7], r[8] or "", r[9],
                                   r[10] if with_verdicts else None)
    return out


def gradebook_data(s: Session, a: Assignment, page: int | None = 0) -> dict[str, Any]:
    """The gradebook from aggregate queries: the latest submission and attempts per cell, hints and reveals, for a page
    of :data:`PAGE` students (``page=None``: all of them, with every blank's answer, for the CSV)."""
    q = select(Student.id, Student.name).where(Student.class_id == a.class_id).order_by(Student.name)
    n_students = s.scalar(select(func.count()).select_from(Student).where(Student.class_id == a.class_id)) or 0
    if page is not None:
        q = q.offset(page * PAGE).limit(PAGE)
    students = s.execute(q).all()
    ids = [r[0] for r in students]
    full = page is None
    latest = latest_rows(s, a.id, None if full else ids, with_verdicts=full) if ids else {}
    revealed = set(s.execute(select(Reveal.student_id, Reveal.item).where(Reveal.assignment_id == a.id)).tuples().all())
    hinted: dict[tuple[int, int], tuple[int, int]] = {
        (r[0], r[1]): (int(r[2]), int(r[3])) for r in s.execute(
            select(HintUse.student_id, HintUse.item, func.count(), func.max(HintUse.level))
            .where(HintUse.assignment_id == a.id).group_by(HintUse.student_id, HintUse.item)).all()}
    topics = [item_topic(a, k) for k in range(a.count)]
    spans = a.count <= 6
    rows = []
    for sid, name in students:
        cells = []
        got = follows = tot = 0
        for k in range(a.count):
            sub = latest.get((sid, k))
            if sub is not None:
                got, follows, tot = got + sub.correct, follows + sub.carried, tot + sub.total
            if full and sub is not None and sub.verdicts:
                badges = [{"badge": b, **v} for b, v in sorted(sub.verdicts.items(), key=lambda x: int(x[0]))]
            elif sub is not None and spans:
                badges = [{"badge": b, "verdict": VERDICT_OF.get(m, "blank")} for b, m in enumerate(sub.marks, start=1)]
            else:
                badges = []
            h = hinted.get((sid, k))
            cells.append({"k": k, "sub": sub, "attempts": sub.attempts if sub else 0, "revealed": (sid, k) in revealed,
                          "badges": badges, "glyphs": "".join(GLYPH.get(m, "·") for m in sub.marks) if sub and not spans else "",
                          "hints": h[0] if h else 0, "hint_top": h[1] if h else 0})
        rows.append({"student": {"id": sid, "name": name}, "cells": cells, "strict": got, "follows": follows, "total": tot,
                     "counted": counted(a, got, follows),
                     "score": f"{got}/{tot}" if tot else "—", "carried": f"{got + follows}/{tot}" if tot else "—"})
    wrong, example = wrong_blanks(s, a.id, topics)
    worst = sorted(((w[0], w[1], t, b) for (t, b), w in wrong.items() if w[0]), key=lambda x: (-x[0], x[2], x[3]))[:10]
    return {"a": a, "k": a.klass, "rows": rows, "items": [{"k": k, "topic": topics[k]} for k in range(a.count)],
            "worst": [{"wrong": w, "of": n, "topic": t, "cell": _badge_cell(s, example.get(t), b)}
                      for w, n, t, b in worst],
            "page": page or 0, "pages": max(1, -(-n_students // PAGE)), "n_students": n_students, "paged": n_students > PAGE,
            "per_page": PAGE,
            "credit_modes": CREDIT_MODES, "closed": _closed(a)}


def wrong_blanks(s: Session, aid: int, topics: list[str]) -> tuple[dict[tuple[str, int], list[int]], dict[str, int]]:
    """Per (chapter, badge): [wrong, answered] over every student's latest answer in the assignment (not only the
    gradebook's page), from one aggregate query that reads only the latest rows' marks; and a submission per chapter,
    to name its blanks' cells. Wrong is a wrong value or not a number; a blank left empty is not an answer, and one that
    follows from the student's own earlier answer is answered but not wrong (the mistake is upstream)."""
    last = (select(func.max(Submission.id).label("last")).where(Submission.assignment_id == aid)
            .group_by(Submission.student_id, Submission.item).subquery())
    wrong: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    example: dict[str, int] = {}
    # students with the same marks on an exercise are one row (a class often has the same right answers)
    for item, marks, rid, n in s.execute(select(Submission.item, Submission.marks, func.min(Submission.id), func.count())
                                         .join(last, Submission.id == last.c.last)
                                         .group_by(Submission.item, Submission.marks)):
        if not 0 <= item < len(topics):
            continue
        topic = topics[item]
        example.setdefault(topic, rid)
        for b, m in enumerate(marks or "", start=1):
            if m != "b":
                w = wrong[(topic, b)]
                w[1] += n
                if m in "wn":
                    w[0] += n
    return wrong, example


def _badge_cell(s: Session, sub_id: int | None, badge: int) -> str:
    """The cell a badge asks for in this chapter (from one submission's record), e.g. "[3] Z[1,0]"."""
    v = s.scalar(select(Submission.verdicts).where(Submission.id == sub_id)) if sub_id is not None else None
    cell = v.get(str(badge), {}).get("cell") if isinstance(v, dict) else None
    return f"[{badge}] {tr_text(cell)}" if cell else f"[{badge}]"  # a name that is a word, in the page's language


def _closed(a: Assignment) -> bool:
    from byhand.web.student import is_closed

    return is_closed(a)


@teacher_only
async def gradebook(request: Request) -> Response:
    try:
        page = max(0, min(10_000, int(request.query_params.get("page", "1")) - 1))
    except ValueError:
        page = 0
    return render(request, "gradebook.html", await db(request, lambda s: gradebook_data(s, own_assignment(s, request), page)))


def _csv_safe(v: Any) -> Any:
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(r"-[\d./]+", v):
        return "'" + v  # a spreadsheet must not run a student's text as a formula
    return v


def _csv_name(a: Assignment) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", a.title)[:40] or "assignment"


def _rows_csv(rows: Iterator[list[Any]]) -> Iterator[str]:
    buf = io.StringIO()
    w = csv.writer(buf)
    for r in rows:
        w.writerow(r)
        if buf.tell() > 32_768:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


@teacher_only
async def gradebook_csv(request: Request) -> Response:
    """Every blank of every student's latest submission, with per-student totals in the last columns."""
    def work(s: Session) -> tuple[list[list[Any]], str]:
        a = own_assignment(s, request)
        g = gradebook_data(s, a, None)
        out: list[list[Any]] = [["student", "exercise", "chapter", "seed", "badge", "cell", "given", "verdict", "attempts",
                                 "hints", "submitted_at", "late", "solution_opened", "student_right", "student_follows",
                                 "student_blanks", "student_score"]]
        for r in g["rows"]:
            st = r["student"]
            tot = [r["strict"], r["follows"], r["total"], _num(r["counted"])]
            sid, sname = st["id"], st["name"]
            for c in r["cells"]:
                k = c["k"]
                seed = sheets.student_seed(a.salt, sid, k)
                sub = c["sub"]
                if sub is None:
                    out.append([_csv_safe(sname), k + 1, item_topic(a, k), seed, "", "", "", "not submitted", 0, c["hints"], "",
                                "", "", *tot])
                    continue
                for b in c["badges"]:
                    out.append([_csv_safe(sname), k + 1, item_topic(a, k), seed, b["badge"], b.get("cell"),
                                _csv_safe(b.get("given") or ""), b.get("verdict"), c["attempts"], c["hints"],
                                sub.created_at.isoformat(), int(sub.late), int(c["revealed"]), *tot])
        return out, _csv_name(a)

    rows, name = await db(request, work)
    return StreamingResponse(_rows_csv(iter(rows)), media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="byhand-{name}.csv"'})


@teacher_only
async def totals_csv(request: Request) -> Response:
    """One row per student: right, follows from their own answer, blanks, the score as counted, hints, solutions opened."""
    def work(s: Session) -> tuple[list[list[Any]], str]:
        a = own_assignment(s, request)
        g = gradebook_data(s, a, None)
        out: list[list[Any]] = [["student", "right", "follows", "blanks", f"score ({a.credit})", "exercises_submitted", "hints",
                                 "solutions_opened"]]
        for r in g["rows"]:
            out.append([_csv_safe(r["student"]["name"]), r["strict"], r["follows"], r["total"], _num(r["counted"]),
                        sum(c["sub"] is not None for c in r["cells"]), sum(c["hints"] for c in r["cells"]),
                        sum(c["revealed"] for c in r["cells"])])
        return out, _csv_name(a)

    rows, name = await db(request, work)
    return StreamingResponse(_rows_csv(iter(rows)), media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="byhand-{name}-totals.csv"'})


# -- printing ------------------------------------------------------------------------------------------


def extra_param(request: Request) -> int:
    """``?extra=N``: anonymous copies to print besides the roster, 0 to :data:`MAX_EXTRA`."""
    raw = request.query_params.get("extra", "").strip() or "0"
    try:
        n = int(raw)
    except ValueError:
        n = -1
    if not 0 <= n <= MAX_EXTRA:
        raise fail(400, M_("Extra copies must be a whole number from 0 to {max_extra}.", max_extra=MAX_EXTRA))
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
    if (len(job.students) + extra) * job.count > MAX_PRINT_EXERCISES:
        raise fail(400, M_("That is more than {max_print_exercises} exercises in one PDF; print fewer extra copies.",
                           max_print_exercises=MAX_PRINT_EXERCISES))
    gate: asyncio.Semaphore = request.app.state.print_gate
    if gate.locked():
        raise fail(503, "Another printout is being made on this server; try again in a minute.")
    async with gate:
        try:
            pdf = await run_in_threadpool(_print_pdf, job, extra, key, request.app.state.print_seal)
        except ByHandError as e:
            raise fail(400, M_("This assignment could not be printed: {e}", e=e)) from None
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", job.title)[:40] or "assignment"
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": f'attachment; filename="byhand-{name}-{"key" if key else "class"}.pdf"'})


@teacher_only
async def assignment_print(request: Request) -> Response:
    """The assignment on paper: one section per student with their own on-screen variants, no answers."""
    return await _assignment_pdf(request, key=False)


@teacher_only
async def assignment_key(request: Request) -> Response:
    """The answer key of :func:`assignment_print` (with the same ``?extra=``)."""
    return await _assignment_pdf(request, key=True)


__all__ = ["who"]
