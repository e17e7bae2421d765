"""The student's script calls — Check (the hot path of a class), the hint ladder, the worked solution — and the
one writer that commits checks in batches."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Integer, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from byhand import credit
from byhand.i18n import M_, tr_text
from byhand.notation import names
from byhand.web import hints, sheets
from byhand.web.common import (
    MAX_ID,
    MAX_ITEMS,
    api_json,
    db,
    fail,
    get_exercise,
    int_param,
    not_found,
    now,
    parse_answers,
    who_for_check,
)
from byhand.web.learner import hint_request
from byhand.web.models import Assignment, HintUse, LoginSession, Reveal, Submission
from byhand.web.student import is_closed, item_topic, student_item

log = logging.getLogger("byhand.web")


@dataclass(frozen=True)
class AssignmentInfo:
    """What marking a check needs of an assignment: the parts that never change after it is made. (Its settings —
    attempts, due date, closing — can change at any time, in any server process: the committing transaction reads
    them, see :class:`GroupCommit`.)"""

    class_id: int
    salt: int
    topics: tuple[str, ...]
    level: str
    count: int


class Known:
    """Per-process memory of assignments' fixed parts. It needs no expiry: the committing transaction checks the
    assignment's salt, so a deleted assignment (or a new one that took its id) is never marked with stale parts."""

    def __init__(self) -> None:
        self.assignments: dict[int, AssignmentInfo] = {}

    def get(self, aid: int) -> AssignmentInfo | None:
        return self.assignments.get(aid)

    def put(self, aid: int, info: AssignmentInfo) -> None:
        if len(self.assignments) > 10_000:
            self.assignments.clear()
        self.assignments[aid] = info

    def forget(self, aid: int | None = None) -> None:
        if aid is None:
            self.assignments.clear()
        else:
            self.assignments.pop(aid, None)


def assignment_info(engine: Engine, known: Known, aid: int) -> AssignmentInfo | None:
    with engine.connect() as conn:
        r = conn.execute(_ASSIGNMENT, {"aid": aid}).first()
    if r is None:
        return None
    info = AssignmentInfo(r[0], r[1], tuple(r[2]), r[3], r[4])
    known.put(aid, info)
    return info


_ASSIGNMENT = select(Assignment.class_id, Assignment.salt, Assignment.topics, Assignment.level, Assignment.count).where(
    Assignment.id == bindparam("aid"))

CLOSED, LIMIT, SHUT, SIGNED_OUT, STALE = -1, -2, -3, -4, -5
"""What the committing transaction can answer instead of a new submission's id: the exercise's solution was opened,
no attempts are left, the assignment is closed, the device's session has ended, the assignment is not the one
marked against (deleted, or another took its id)."""
MARK_CODES = {"correct": "c", "wrong": "w", "blank": "b", "not a number": "n", "follows": "f"}


@dataclass
class Pending:
    """A check waiting for the writer: the row to insert, what it was marked against, and the answer's future."""

    values: dict[str, Any]
    token_hash: str
    salt: int
    loop: asyncio.AbstractEventLoop
    fut: asyncio.Future[tuple[int, int, bool]]


def _guard_query() -> Any:
    """Everything a submission must satisfy, read in its committing transaction in one statement: the assignment's
    current settings, the device's session (by its token's hash), an opened solution, and the attempts so far."""
    aid, sid, item = bindparam("aid", type_=Integer), bindparam("sid", type_=Integer), bindparam("item", type_=Integer)
    session = select(LoginSession.created_at).where(LoginSession.token_hash == bindparam("token"),
                                                    LoginSession.student_id == sid).scalar_subquery()
    revealed = select(Reveal.id).where(Reveal.assignment_id == aid, Reveal.student_id == sid,
                                       Reveal.item == item).limit(1).scalar_subquery()
    attempts = select(func.max(Submission.attempt)).where(Submission.assignment_id == aid, Submission.student_id == sid,
                                                          Submission.item == item).scalar_subquery()
    return select(Assignment.salt, Assignment.max_attempts, Assignment.closed_at, Assignment.close_at_due,
                  Assignment.due_at, session.label("session"), revealed.label("revealed"),
                  attempts.label("attempts")).where(Assignment.id == aid)


_GUARD = _guard_query()


def _insert_for(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: a clash on (assignment, student, exercise, attempt) means another
    server process saved that attempt first; the writer then reads again and takes the next number (or refuses)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(Submission).on_conflict_do_nothing().returning(Submission.id)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(Submission).on_conflict_do_nothing().returning(Submission.id)


def _when(v: Any) -> datetime | None:
    return v if v is None or isinstance(v, datetime) else datetime.fromisoformat(str(v))


class GroupCommit:
    """One writer thread per server process that commits submissions in batches: one fsync for all the checks that
    arrived meanwhile.

    A check is answered only after the transaction holding it has committed (SQLite: WAL with
    synchronous=FULL), so "saved" always means on disk; under load many checks share one commit.
    The same transaction checks, from the database (so every server process agrees at once): the device is still
    signed in, the assignment is still open and is the one marked against, the exercise's solution was not opened,
    and an attempt is left. The attempt number is unique per student and exercise, so even two processes racing for
    the last attempt save it once. On SQLite the transaction takes the write lock first (BEGIN IMMEDIATE), so what
    it reads cannot change before it writes.
    """

    MAX_BATCH = 256
    TRIES = 5

    def __init__(self, engine: Engine, session_life: timedelta) -> None:
        self.engine = engine
        self.life = session_life
        self.sqlite = engine.dialect.name == "sqlite"
        self.insert_stmt = _insert_for(engine.dialect.name)
        self.q: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="byhand-group-commit", daemon=True)
        self.thread.start()

    async def insert(self, values: dict[str, Any], token_hash: str, salt: int) -> tuple[int, int, bool]:
        """(the new submission's id or CLOSED, LIMIT, SHUT, SIGNED_OUT, STALE; the attempt limit; late)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[int, int, bool]] = loop.create_future()
        self.q.put(Pending(values, token_hash, salt, loop, fut))
        return await fut

    def stop(self) -> None:
        self.q.put(None)
        self.thread.join(10)

    def _one(self, conn: Any, p: Pending, t: datetime) -> tuple[int, int, bool]:
        v = p.values
        key = {"aid": v["assignment_id"], "sid": v["student_id"], "item": v["item"], "token": p.token_hash}
        for _ in range(self.TRIES):
            g = conn.execute(_GUARD, key).first()
            if g is None or g.salt != p.salt:
                return STALE, 0, False
            started = _when(g.session)
            if started is None or started < t - self.life:
                return SIGNED_OUT, 0, False
            closed_at, due = _when(g.closed_at), _when(g.due_at)
            if (closed_at is not None and closed_at <= t) or (g.close_at_due and due is not None and due <= t):
                return SHUT, g.max_attempts, False
            if g.revealed is not None:
                return CLOSED, g.max_attempts, False
            n = g.attempts or 0
            if n >= g.max_attempts:
                return LIMIT, g.max_attempts, False
            late = due is not None and t > due
            rid = conn.execute(self.insert_stmt, {**v, "attempt": n + 1, "late": late, "created_at": t}).scalar()
            if rid is not None:
                return int(rid), g.max_attempts, late
        raise RuntimeError("could not number an attempt: other writers kept taking the same number")

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
            try:
                t = now()
                with self.engine.connect() as conn:
                    if self.sqlite:
                        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock before reading: no other process moves
                    # in one order in every process (assignment, student, exercise): two processes' batches that wait
                    # on each other's attempt numbers (PostgreSQL) wait in the same order, never in a cycle
                    order = sorted(range(len(batch)), key=lambda i: (batch[i].values["assignment_id"],
                                                                      batch[i].values["student_id"], batch[i].values["item"]))
                    done = {i: self._one(conn, batch[i], t) for i in order}
                    results = [done[i] for i in range(len(batch))]
                    conn.commit()
            except Exception as e:  # nothing in this batch was saved: each request gets an error, none says "saved"
                log.exception("could not save %d submissions", len(batch))
                for p in batch:
                    p.loop.call_soon_threadsafe(_settle, p.fut, None, e)
                continue
            for p, res in zip(batch, results):
                p.loop.call_soon_threadsafe(_settle, p.fut, res, None)


def _settle(fut: asyncio.Future[tuple[int, int, bool]], value: tuple[int, int, bool] | None,
            exc: BaseException | None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    elif value is not None:
        fut.set_result(value)


_names: dict[tuple[str, int, str], dict[int, str]] = {}


def _cell_names(topic: str, seed: int, level: str, ex: Any) -> dict[int, str]:
    """Each blank's cell as the method names it (``Z₁[2,1]``), kept per exercise: a class checks the same exercises
    again and again."""
    key = (topic, seed, level)
    got = _names.get(key)
    if got is None:
        if len(_names) > 20_000:
            _names.clear()
        english = names(ex).in_english()  # the record keeps the file's names; a view shows them in its language
        got = _names[key] = {b.badge: english.cell(*b.cells[0]) for b in ex.blanks}
    return got


async def student_check(request: Request) -> Response:
    """The hot path of a class: check a student's answers, commit them, then answer "saved".

    Who is asking and the assignment's fixed parts come from this process's memory; everything that can change
    (signed out, closed, attempts, an opened solution) is read again inside the transaction that saves the check."""
    answers = parse_answers(await api_json(request))
    w = await who_for_check(request)
    if w is None or w.student_id is None or w.class_id is None:
        raise fail(401, "Join your class first (with your name and the class code).")
    sid, cid = w.student_id, w.class_id
    aid, k = int_param(request, "aid", MAX_ID), int_param(request, "k", MAX_ITEMS)
    engine, known = request.app.state.engine, request.app.state.known
    for _ in range(2):
        a = known.get(aid) or await run_in_threadpool(assignment_info, engine, known, aid)
        if a is None or a.class_id != cid or not 0 <= k < a.count:
            raise not_found()
        topic, seed = a.topics[k % len(a.topics)], sheets.student_seed(a.salt, sid, k)
        ex = await get_exercise(topic, seed, a.level)
        marks = credit.mark(ex, answers) if len(ex.blanks) < 64 else await run_in_threadpool(credit.mark, ex, answers)
        right, follows, total = credit.scores(marks)
        cells = _cell_names(topic, seed, a.level, ex)
        verdicts = {str(m.badge): {"verdict": m.verdict, "given": m.given, "cell": cells[m.badge]} for m in marks}
        sub_id, most, late = await request.app.state.writer.insert(dict(
            student_id=sid, assignment_id=aid, item=k, answers=answers, verdicts=verdicts, correct=right, total=total,
            carried=follows, marks="".join(MARK_CODES.get(m.verdict, "b") for m in sorted(marks, key=lambda m: m.badge))[:400],
        ), w.token_hash, a.salt)
        if sub_id != STALE:
            break
        known.forget(aid)
    if sub_id == STALE:
        raise not_found()
    if sub_id == SIGNED_OUT:
        request.app.state.login_sessions.drop(w.token_hash)
        raise fail(401, "This device is signed out. Join your class again (with your name and the class code).")
    if sub_id == SHUT:
        raise fail(409, "This assignment is closed: it takes no more answers.")
    if sub_id == CLOSED:
        raise fail(409, "You opened the worked solution of this exercise, so it takes no more answers.")
    if sub_id == LIMIT:
        raise fail(409, M_("You have used all {most} attempts at this exercise. Open the worked solution to learn from it.",
                           most=most))
    return JSONResponse({"score": round(right / total, 4) if total else 1.0, "correct": right, "follows": follows, "total": total,
                         "badges": {b: {"verdict": v["verdict"], "given": v["given"]} for b, v in verdicts.items()},
                         "saved": True, "submission": sub_id, "late": late})


async def student_reveal(request: Request) -> Response:
    await api_json(request)

    def work(s: Session) -> tuple[str, int, str]:
        st, a, k = student_item(s, request)
        has = s.scalar(select(Submission.id).where(Submission.assignment_id == a.id, Submission.student_id == st.id,
                                                   Submission.item == k).limit(1))
        if has is None and not is_closed(a):
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
    """The hint ladder in an assignment (if the teacher left hints on): each rung is recorded for the gradebook,
    and a rung is given only after the one below it."""
    badge, rung = hint_request(await api_json(request))

    def work(s: Session) -> tuple[str, int, str, int]:
        st, a, k = student_item(s, request)
        if not a.hints:
            raise fail(403, "Your teacher turned hints off for this assignment.")
        top = s.scalar(select(func.max(HintUse.level)).where(HintUse.assignment_id == a.id, HintUse.student_id == st.id,
                                                             HintUse.item == k, HintUse.badge == badge)) or 0
        level = min(rung, top + 1)
        return item_topic(a, k), sheets.student_seed(a.salt, st.id, k), a.level, level

    topic, seed, level, rung = await db(request, work)
    ex = await get_exercise(topic, seed, level)
    h = hints.hint(ex, badge, rung)
    if h is None:
        raise fail(400, "Ask for a hint on one of the blanks.")
    h["text"] = tr_text(h.get("text", ""))  # in the page's language (byhand.i18n)

    def record(s: Session) -> None:
        st, a, k = student_item(s, request)
        if s.scalar(select(HintUse.id).where(HintUse.assignment_id == a.id, HintUse.student_id == st.id, HintUse.item == k,
                                             HintUse.badge == badge, HintUse.level == rung)) is None:
            s.add(HintUse(student_id=st.id, assignment_id=a.id, item=k, badge=badge, level=rung, created_at=now()))
            try:
                s.commit()
            except IntegrityError:
                s.rollback()

    await db(request, record)
    return JSONResponse(h)
