"""A classroom a school can trust: server-side sessions, hashed PINs, normalised names, invites, hint use,
assignment settings (hints, attempts, closing, credit), and the indexes the gradebook reads by.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from byhand.web.names import name_key
    from byhand.web.security import hash_pin

    with op.batch_alter_table("teachers") as b:
        b.add_column(sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("classes") as b:
        b.add_column(sa.Column("roster_only", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("assignments") as b:
        b.add_column(sa.Column("hints", sa.Boolean(), nullable=False, server_default=sa.true()))
        b.add_column(sa.Column("max_attempts", sa.Integer(), nullable=False, server_default="3"))
        b.add_column(sa.Column("close_at_due", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        b.add_column(sa.Column("credit", sa.String(16), nullable=False, server_default="half"))
    with op.batch_alter_table("submissions") as b:
        b.add_column(sa.Column("carried", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("marks", sa.String(400), nullable=False, server_default=""))
    subs = sa.table("submissions", sa.column("id", sa.Integer), sa.column("verdicts", sa.JSON), sa.column("marks", sa.String))
    codes = {"correct": "c", "wrong": "w", "blank": "b", "not a number": "n", "follows": "f"}
    conn0 = op.get_bind()
    last = 0
    while True:  # in pages: a big database is not read into memory at once
        rows = conn0.execute(sa.select(subs.c.id, subs.c.verdicts).where(subs.c.id > last).order_by(subs.c.id).limit(2000)).all()
        if not rows:
            break
        for rid, verdicts in rows:
            v = verdicts if isinstance(verdicts, dict) else {}
            m = "".join(codes.get(str(v[b].get("verdict")), "b") for b in sorted(v, key=lambda x: int(x) if x.isdigit() else 0))
            conn0.execute(sa.update(subs).where(subs.c.id == rid).values(marks=m[:400]))
        last = rows[-1][0]
    with op.batch_alter_table("students") as b:
        b.add_column(sa.Column("name_key", sa.String(60), nullable=True))
        b.add_column(sa.Column("pin_hash", sa.String(255), nullable=True))
        b.add_column(sa.Column("pin_fails", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))

    # every plain-text PIN becomes a hash; names get their comparison key (a clash keeps both, told apart by id)
    conn = op.get_bind()
    students = sa.table("students", sa.column("id", sa.Integer), sa.column("class_id", sa.Integer), sa.column("name", sa.String),
                        sa.column("pin", sa.String), sa.column("name_key", sa.String), sa.column("pin_hash", sa.String))
    seen: set[tuple[int, str]] = set()
    for sid, cid, name, pin in conn.execute(sa.select(students.c.id, students.c.class_id, students.c.name, students.c.pin)
                                            .order_by(students.c.id)).all():
        key = name_key(name) or f"#{sid}"
        if (cid, key) in seen:
            key = f"{key[:50]} #{sid}"
        seen.add((cid, key))
        conn.execute(sa.update(students).where(students.c.id == sid).values(name_key=key, pin_hash=hash_pin(pin)))
    with op.batch_alter_table("students") as b:
        b.alter_column("name_key", existing_type=sa.String(60), nullable=False)
        b.alter_column("pin_hash", existing_type=sa.String(255), nullable=False)
        b.drop_column("pin")
    op.create_index("ux_students_name_key", "students", ["class_id", "name_key"], unique=True)

    # the session secret no longer lives in the database (see byhand.web.db.master_secret)
    conn.execute(sa.text("DELETE FROM settings WHERE key = 'session_secret'"))

    op.create_table(
        "hint_uses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("student_id", sa.Integer(), sa.ForeignKey("students.id", ondelete="CASCADE"), nullable=False),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("badge", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("student_id", "assignment_id", "item", "badge", "level"),
    )
    op.create_index("ix_hint_uses_assignment", "hint_uses", ["assignment_id", "student_id"])
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("teacher_id", sa.Integer(), sa.ForeignKey("teachers.id", ondelete="CASCADE"), nullable=True),
        sa.Column("student_id", sa.Integer(), sa.ForeignKey("students.id", ondelete="CASCADE"), nullable=True),
        sa.Column("agent", sa.String(120), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_login_sessions_teacher_id", "login_sessions", ["teacher_id"])
    op.create_index("ix_login_sessions_student_id", "login_sessions", ["student_id"])
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("teachers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_reveals_assignment", "reveals", ["assignment_id"])
    op.create_index("ix_submissions_latest", "submissions", ["assignment_id", "student_id", "item", "id"])
    # the first account is the admin
    conn.execute(sa.text("UPDATE teachers SET is_admin = :t WHERE id = (SELECT MIN(id) FROM teachers)"), {"t": True})


def downgrade() -> None:
    raise NotImplementedError("0002 hashes PINs and cannot be undone; restore a backup instead")
