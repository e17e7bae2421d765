"""The classroom database: teachers, classes, assignments, students and every submitted answer.

Submissions are append-only: each Check in an assignment is one row, and the gradebook reads the
latest row per student and exercise. Nothing is ever updated in place, so an acknowledged answer
is never overwritten.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Teacher(Base):
    __tablename__ = "teachers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    classes: Mapped[list[Klass]] = relationship(back_populates="teacher", order_by="Klass.id")


class Klass(Base):
    __tablename__ = "classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    join_code: Mapped[str] = mapped_column(String(16), unique=True)
    roster_only: Mapped[bool] = mapped_column(Boolean, default=False)
    """Only students the teacher listed may join (each with the PIN the teacher hands out)."""
    created_at: Mapped[datetime] = mapped_column(DateTime)
    teacher: Mapped[Teacher] = relationship(back_populates="classes")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="klass", order_by="Assignment.id")
    students: Mapped[list[Student]] = relationship(back_populates="klass", order_by="Student.name")


class Assignment(Base):
    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    topics: Mapped[list[str]] = mapped_column(JSON)
    level: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    salt: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    hints: Mapped[bool] = mapped_column(Boolean, default=True)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    close_at_due: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    credit: Mapped[str] = mapped_column(String(16), default="half")
    """How an answer that follows from the student's own earlier wrong answer counts: strict (0), half, full."""
    klass: Mapped[Klass] = relationship(back_populates="assignments")


class Student(Base):
    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("class_id", "name"), Index("ux_students_name_key", "class_id", "name_key", unique=True))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    name_key: Mapped[str] = mapped_column(String(60))
    """The name as compared: NFKC, case-folded, one space between words ("  dana   LATE " is "dana late")."""
    pin_hash: Mapped[str] = mapped_column(String(255))
    pin_fails: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    klass: Mapped[Klass] = relationship(back_populates="students")


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_work", "assignment_id", "student_id", "item"),
                      Index("ix_submissions_latest", "assignment_id", "student_id", "item", "id"),
                      Index("ux_submissions_attempt", "assignment_id", "student_id", "item", "attempt", unique=True))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    item: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    """1, 2, … per student and exercise; unique, so the attempt limit holds across server processes."""
    answers: Mapped[dict[str, str]] = mapped_column(JSON)
    verdicts: Mapped[dict[str, dict[str, str | None]]] = mapped_column(JSON)
    correct: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    carried: Mapped[int] = mapped_column(Integer, default=0)
    """Blanks wrong only because an earlier answer was wrong ("follows from your answer")."""
    marks: Mapped[str] = mapped_column(String(400), default="")
    """One letter per badge, in badge order (:data:`byhand.web.api.MARK_CODES`): the gradebook reads this, not the JSON."""
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Reveal(Base):
    """A student opened the worked solution of an exercise: it takes no more submissions."""

    __tablename__ = "reveals"
    __table_args__ = (UniqueConstraint("student_id", "assignment_id", "item"), Index("ix_reveals_assignment", "assignment_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    item: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class HintUse(Base):
    """A student asked for a hint (level 1 where to look, 2 the expression, 3 the step) on a blank of an assignment."""

    __tablename__ = "hint_uses"
    __table_args__ = (UniqueConstraint("student_id", "assignment_id", "item", "badge", "level"),
                      Index("ix_hint_uses_assignment", "assignment_id", "student_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    item: Mapped[int] = mapped_column(Integer)
    badge: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class LoginSession(Base):
    """A signed-in device: the cookie holds a random token, the database only its SHA-256. Deleting the row ends it."""

    __tablename__ = "login_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), nullable=True, index=True)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), nullable=True, index=True)
    agent: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Invite(Base):
    """A one-time invitation to make a teacher account (``--signup invite``); only its hash is kept."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class RateEvent(Base):
    """One failure counted by a rate limit (a wrong class code, PIN or password, a signup): kept in the database, so
    every server process counts the same failures. The key (an address, an e-mail) is kept only as a hash."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_bucket", "bucket", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)
