"""The student's script calls — Check (the hot path of a class), the hint ladder, the worked solution — and the
one writer that commits checks in batches."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from byhand import credit
from byhand.i18n import tr_text
from byhand.notation import cell_label
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
    who,
)
from byhand.web.learner import hint_request
from byhand.web.models import Assignment, HintUse, Reveal, Submission
from byhand.web.student import is_closed, item_topic, student_item

log = logging.getLogger("byhand.web")


@dataclass(frozen=True)
class AssignmentInfo:
    """What a check needs of an assignment (remembered for a few seconds: a teacher's edit shows within them)."""

    class_id: int
    salt: int
    topics: tuple[str, ...]
    level: str
    count: int
    due_at: datetime | None
    max_attempts: int
    closed: bool


class Known:
    """Per-process memory of assignments' settings, for :data:`TTL` seconds (forgotten at once after an edit here)."""

    TTL = 5.0

    def __init__(self) -> None:
        self.assignments: dict[int, tuple[float, AssignmentInfo]] = {}

    def get(self, aid: int) -> AssignmentInfo | None:
        hit = self.assignments.get(aid)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def put(self, aid: int, info: AssignmentInfo) -> None:
        if len(self.assignments) > 10_000:
            self.assignments.clear()
        self.assignments[aid] = (time.monotonic() + self.TTL, info)

    def forget(self) -> None:
        self.assignments.clear()


def assignment_info(engine: Engine, known: Known, aid: int) -> AssignmentInfo | None:
    from sqlalchemy.orm import Session as S

    with S(engine) as s:
        a = s.get(Assignment, aid)
        if a is None:
            return None
        info = AssignmentInfo(a.class_id, a.salt, tuple(a.topics), a.level, a.count, a.due_at, a.max_attempts, is_closed(a))
    known.put(aid, info)
    return info


CLOSED, LIMIT = -1, -2
MARK_CODES = {"correct": "c", "wrong": "w", "blank": "b", "not a number": "n", "follows": "f"}


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

    async def insert(self, values: dict[str, Any], max_attempts: int) -> int | None:
        """The new submission's id; :data:`CLOSED` if its solution was opened, :data:`LIMIT` if no attempts are left."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int | None] = loop.create_future()
        self.q.put(({**values, "_max": max_attempts}, loop, fut))
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
                    for given, _, _ in batch:
                        values = {k: v for k, v in given.items() if k != "_max"}
                        where = (Submission.assignment_id == values["assignment_id"],
                                 Submission.student_id == values["student_id"],
                                 Submission.item == values["item"])
                        closed = conn.execute(select(Reveal.id).where(Reveal.assignment_id == values["assignment_id"],
                                                                      Reveal.student_id == values["student_id"],
                                                                      Reveal.item == values["item"])).first()
                        if closed:
                            results.append(CLOSED)
                            continue
                        if conn.execute(select(func.count()).select_from(Submission).where(*where)).scalar_one() >= given["_max"]:
                            results.append(LIMIT)
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


async def _student(request: Request) -> tuple[int, int]:
    w = await who(request)
    if w is None or w.student_id is None or w.class_id is None:
        raise fail(401, "Join your class first (with your name and the class code).")
    return w.student_id, w.class_id


async def student_check(request: Request) -> Response:
    """The hot path of a class: check a student's answers, commit them, then answer "saved"."""
    answers = parse_answers(await api_json(request))
    sid, cid = await _student(request)
    aid, k = int_param(request, "aid", MAX_ID), int_param(request, "k", MAX_ITEMS)
    engine, known = request.app.state.engine, request.app.state.known
    a = known.get(aid) or await run_in_threadpool(assignment_info, engine, known, aid)
    if a is None or a.class_id != cid or not 0 <= k < a.count:
        raise not_found()
    if a.closed:
        raise fail(409, "This assignment is closed: it takes no more answers.")
    topic, seed = a.topics[k % len(a.topics)], sheets.student_seed(a.salt, sid, k)
    ex = await get_exercise(topic, seed, a.level)
    marks = credit.mark(ex, answers) if len(ex.blanks) < 64 else await run_in_threadpool(credit.mark, ex, answers)
    right, follows, total = credit.scores(marks)
    cells = {b.badge: cell_label(ex, *b.cells[0]) for b in ex.blanks}
    verdicts = {str(m.badge): {"verdict": m.verdict, "given": m.given, "cell": cells[m.badge]} for m in marks}
    late = a.due_at is not None and now() > a.due_at
    sub_id = await request.app.state.writer.insert(dict(
        student_id=sid, assignment_id=aid, item=k, answers=answers, verdicts=verdicts, correct=right, total=total,
        carried=follows, marks="".join(MARK_CODES.get(m.verdict, "b") for m in sorted(marks, key=lambda m: m.badge))[:400],
        late=late, created_at=now()), a.max_attempts)
    if sub_id == CLOSED:
        raise fail(409, "You opened the worked solution of this exercise, so it takes no more answers.")
    if sub_id == LIMIT:
        raise fail(409, f"You have used all {a.max_attempts} attempts at this exercise. "
                        "Open the worked solution to learn from it.")
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
