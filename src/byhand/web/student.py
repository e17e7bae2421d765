"""The student: join a class (name, class code, PIN), the list of assignments, an exercise page, leave a device."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from byhand.i18n import N_
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
    get_exercise,
    int_param,
    not_found,
    now,
    render,
    signin,
    who,
)
from byhand.web.models import Assignment, HintUse, Klass, Reveal, Student, Submission
from byhand.web.names import display_name, name_key
from byhand.web.security import PIN_LENGTH, PIN_N, burn_pin_time, clean_code, hash_pin, needs_rehash, new_code, verify_password

PIN_TRIES = 5
"""Wrong PINs in a row before a student's name waits :data:`PIN_LOCK` (or the teacher resets the PIN)."""
PIN_LOCK = timedelta(minutes=15)


def item_topic(a: Assignment, item: int) -> str:
    return a.topics[item % len(a.topics)]


def is_closed(a: Assignment) -> bool:
    """Closed by hand, or at its due date when the teacher asked for that."""
    t = now()
    return (a.closed_at is not None and a.closed_at <= t) or (a.close_at_due and a.due_at is not None and a.due_at <= t)


async def join_page(request: Request) -> Response:
    return render(request, "join.html", {"code": clean_code(request.query_params.get("code", ""))})


async def join(request: Request) -> Response:
    f = await form(request)
    name, code, pin = display_name(f.get("name", "")), clean_code(f.get("code", "")), clean_code(f.get("pin", ""))
    key = name_key(name)
    ip = client_ip(request)
    ctx: dict[str, Any] = {"name": name, "code": code}
    state = request.app.state

    def again(msg: str, status: int = 400, ask_pin: bool = False) -> Response:
        return render(request, "join.html", {**ctx, "error": msg, "ask_pin": ask_pin}, status)

    if not name or not code:
        return again(N_("Type your name and the class code."))
    if await state.join_limit.blocked(ip):
        return again(N_("Too many wrong class codes from this network. Wait ten minutes, or ask your teacher."), 429)

    def find(s: Session) -> tuple[Klass | None, Student | None]:
        k = s.scalar(select(Klass).where(Klass.join_code == code))
        st = s.scalar(select(Student).where(Student.class_id == k.id, Student.name_key == key)) if k else None
        return k, st

    k, st = await db(request, find)
    if k is None:
        await state.join_limit.fail(ip)
        return again(N_("No class has that code. Check it with your teacher."))
    class_key = f"{k.id}|{ip}"
    if await state.pin_limit.blocked(class_key):
        return again(N_("Too many wrong PINs for this class from this network. Wait ten minutes, or ask your teacher."), 429)
    if st is None:
        if k.roster_only:
            await state.pin_limit.fail(class_key)
            return again(N_("That name is not on this class's list. Type it as your teacher wrote it, "
                            "or ask your teacher to add you."))
        return await _new_student(request, k, name, key, again)
    if st.locked_until is not None and st.locked_until > now():
        if pin:
            await state.pin_limit.fail(class_key)  # hammering a locked name is guessing too
        return again(N_("Too many wrong PINs for this name. Wait 15 minutes, or ask your teacher for a new PIN."), 429, True)
    if not pin:
        return again(N_("Someone in this class already uses that name. If it is you, type your PIN."), 400, True)
    ok = await run_in_threadpool(verify_password, pin, st.pin_hash)
    sid = st.id

    def settle(s: Session) -> bool:
        row = s.get(Student, sid)
        if row is None:
            return False
        if ok:
            row.pin_fails, row.locked_until = 0, None
            if needs_rehash(row.pin_hash, PIN_N):
                row.pin_hash = hash_pin(pin)
        else:
            row.pin_fails += 1
            if row.pin_fails >= PIN_TRIES:
                row.pin_fails, row.locked_until = 0, now() + PIN_LOCK
        s.commit()
        return ok

    if not await db(request, settle):
        await state.pin_limit.fail(class_key)
        return again(N_("That PIN is not right for this name."), 400, True)
    await signin(request, student_id=sid)
    return RedirectResponse("/student", status_code=303)


async def _new_student(request: Request, k: Klass, name: str, key: str, again: Any) -> Response:
    pin = new_code(PIN_LENGTH)
    hashed = await run_in_threadpool(hash_pin, pin)

    def work(s: Session) -> int | None:
        st = Student(class_id=k.id, name=name, name_key=key, pin_hash=hashed, pin_fails=0, created_at=now())
        s.add(st)
        try:
            s.commit()
        except IntegrityError:  # the same name joined a moment ago
            s.rollback()
            return None
        return st.id

    sid = await db(request, work)
    if sid is None:
        await run_in_threadpool(burn_pin_time, pin)
        return again(N_("Someone in this class already uses that name. If it is you, type your PIN."), 400, True)  # type: ignore[no-any-return]
    await signin(request, student_id=sid)
    request.session["new_pin"] = pin  # shown once, on the next page; only its hash is kept
    return RedirectResponse("/student", status_code=303)


def latest_subs(s: Session, aid: int, student_id: int | None = None) -> dict[tuple[int, int], tuple[Submission, int]]:
    """The latest submission and the number of attempts per (student, exercise): one aggregate query and one fetch."""
    q = select(Submission.student_id, Submission.item, func.max(Submission.id), func.count()).where(
        Submission.assignment_id == aid)
    if student_id is not None:
        q = q.where(Submission.student_id == student_id)
    groups = s.execute(q.group_by(Submission.student_id, Submission.item)).all()
    ids = [g[2] for g in groups]
    subs: dict[int, Submission] = {}
    for i in range(0, len(ids), 900):
        for sub in s.scalars(select(Submission).where(Submission.id.in_(ids[i:i + 900]))):
            subs[sub.id] = sub
    return {(g[0], g[1]): (subs[g[2]], int(g[3])) for g in groups if g[2] in subs}


def student_view(s: Session, st: Student) -> dict[str, Any]:
    """What a student sees on their class page (the teacher sees the same, read-only)."""
    out = []
    for a in st.klass.assignments:
        latest = latest_subs(s, a.id, st.id)
        revealed = set(s.scalars(select(Reveal.item).where(Reveal.assignment_id == a.id, Reveal.student_id == st.id)))
        items = []
        for k in range(a.count):
            sub = latest.get((st.id, k))
            items.append({"k": k, "topic": CHAPTER_NAMES[item_topic(a, k)]["title"],
                          "score": f"{sub[0].correct}/{sub[0].total}" if sub else None, "revealed": k in revealed,
                          "attempts": sub[1] if sub else 0})
        out.append({"a": a, "items": items, "closed": is_closed(a)})
    return {"student": st, "klass": st.klass, "assignments": out}


def current_student(s: Session, request: Request) -> Student:
    w = request.state.who
    st = s.get(Student, w.student_id) if w is not None and w.student_id is not None else None
    if st is None:
        raise fail(401, "Join your class first (with your name and the class code).")
    return st


async def student_home(request: Request) -> Response:
    w = await who(request)
    if w is None or w.student_id is None:
        return RedirectResponse("/join", status_code=303)
    view = await db(request, lambda s: student_view(s, current_student(s, request)))
    return render(request, "student.html", {**view, "new_pin": request.session.pop("new_pin", None)})


def student_item(s: Session, request: Request) -> tuple[Student, Assignment, int]:
    st = current_student(s, request)
    aid = int_param(request, "aid", MAX_ID)
    k = int_param(request, "k", MAX_ITEMS)
    a = s.get(Assignment, aid)
    if a is None or a.class_id != st.class_id or k >= a.count:
        raise not_found()
    return st, a, k


async def student_exercise(request: Request) -> Response:
    w = await who(request)
    if w is None or w.student_id is None:
        return RedirectResponse("/join", status_code=303)

    def work(s: Session) -> dict[str, Any]:
        st, a, k = student_item(s, request)
        sub = latest_subs(s, a.id, st.id).get((st.id, k))
        revealed = s.scalar(select(Reveal.id).where(Reveal.assignment_id == a.id, Reveal.student_id == st.id, Reveal.item == k))
        used = s.execute(select(HintUse.badge, func.max(HintUse.level)).where(
            HintUse.assignment_id == a.id, HintUse.student_id == st.id, HintUse.item == k).group_by(HintUse.badge)).all()
        verdicts = {b: v.get("verdict") for b, v in sub[0].verdicts.items()} if sub else {}
        return {"topic": item_topic(a, k), "seed": sheets.student_seed(a.salt, st.id, k), "level": a.level, "a": a, "k": k,
                "given": sub[0].answers if sub else {}, "verdicts": verdicts,
                "score": f"{sub[0].correct}/{sub[0].total}" if sub else None, "follows": sub[0].carried if sub else 0,
                "attempts": sub[1] if sub else 0, "revealed": revealed is not None, "closed": is_closed(a),
                "hints_used": {str(b): int(lv) for b, lv in used}}

    v = await db(request, work)
    ex = await get_exercise(v["topic"], v["seed"], v["level"])
    sheet = await run_in_threadpool(sheets.page_sheet, v["topic"], v["seed"], v["level"])
    a = v.pop("a")
    v.pop("seed")  # never sent to the student: it would regenerate the exercise and its answers
    left = max(0, a.max_attempts - v["attempts"])
    return render(request, "exercise.html", {
        **v, "a": a, "ex": ex, "sheet": sheet, "mode": "assignment", "api": f"/api/student/a/{a.id}/{v['k']}",
        "chapter": CHAPTER_NAMES[v["topic"]], "given_json": json.dumps(v["given"]), "verdicts_json": json.dumps(v["verdicts"]),
        "hints_json": json.dumps(v["hints_used"]), "count": a.count, "hints_on": a.hints, "left": left,
    })


async def student_leave(request: Request) -> Response:
    """Leave this device: the session ends on the server, so a copy of the cookie is worth nothing."""
    await form(request)
    await end_session(request)
    return RedirectResponse("/", status_code=303)
