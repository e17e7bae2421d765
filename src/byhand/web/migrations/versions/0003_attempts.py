"""Limits held by the database, so they hold across server processes: each submission carries its attempt number,
unique per student and exercise (two processes can never both save an exercise's last attempt), and the rate limits'
failures are rows of ``rate_events`` (every process counts the same wrong codes, PINs and passwords).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as b:
        b.add_column(sa.Column("attempt", sa.Integer(), nullable=True))
    # number the existing rows 1, 2, … per student and exercise, in the order they were saved
    op.execute(sa.text(
        "UPDATE submissions SET attempt = (SELECT COUNT(*) FROM submissions AS s2 WHERE s2.assignment_id = "
        "submissions.assignment_id AND s2.student_id = submissions.student_id AND s2.item = submissions.item "
        "AND s2.id <= submissions.id)"))
    with op.batch_alter_table("submissions") as b:
        b.alter_column("attempt", existing_type=sa.Integer(), nullable=False)
    op.create_index("ux_submissions_attempt", "submissions", ["assignment_id", "student_id", "item", "attempt"], unique=True)
    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_rate_events_bucket", "rate_events", ["bucket", "at"])


def downgrade() -> None:
    op.drop_table("rate_events")
    op.drop_index("ux_submissions_attempt", "submissions")
    with op.batch_alter_table("submissions") as b:
        b.drop_column("attempt")
