"""A database made by v0.1.0 (schema 0001, plain-text PINs, the session secret in ``settings``) is brought to 0002."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from byhand.web import create_app
from byhand.web.security import verify_password
from tests.web.conftest import Client, join


def test_a_v010_database_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{db}")
    cfg = Config()
    cfg.set_main_option("script_location", "byhand.web:migrations")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("insert into settings (key, value) values ('session_secret', 'plain-old-secret')"))
        conn.execute(text("insert into teachers (id, email, name, password_hash, created_at) values "
                          "(1, 'a@s.example', 'A', 'scrypt$16384$8$1$x$y', '2025-01-01'), "
                          "(2, 'b@s.example', 'B', 'scrypt$16384$8$1$x$y', '2025-01-02')"))
        conn.execute(text("insert into classes (id, teacher_id, name, join_code, created_at) values (1, 1, 'C', 'ABCDEF', '2025-01-01')"))
        conn.execute(text("insert into students (id, class_id, name, pin, created_at) values "
                          "(1, 1, 'Dana Late', 'K7PQ', '2025-01-01'), (2, 1, 'dana late', 'M2XY', '2025-01-01')"))
        conn.execute(text("insert into assignments (id, class_id, title, topics, level, count, salt, created_at) values "
                          "(1, 1, 'H', '[\"dot\"]', 'easy', 1, 12345, '2025-01-01')"))
        conn.execute(text("insert into submissions (student_id, assignment_id, item, answers, verdicts, correct, total, late, "
                          "created_at) values (1, 1, 0, '{\"1\": \"5\", \"2\": \"1\"}', "
                          "'{\"1\": {\"verdict\": \"correct\", \"given\": \"5\", \"cell\": \"c\"}, "
                          "\"2\": {\"verdict\": \"wrong\", \"given\": \"1\", \"cell\": \"d\"}}', 1, 2, 0, '2025-01-01')"))
        for sid in (1, 2):  # a second attempt of student 1, a first of student 2
            conn.execute(text("insert into submissions (student_id, assignment_id, item, answers, verdicts, correct, total, "
                              "late, created_at) values (:sid, 1, 0, '{}', '{}', 0, 2, 0, '2025-01-02')"), {"sid": sid})
    engine.dispose()
    app = create_app(str(db), signup="open")
    try:
        with app.state.engine.connect() as conn:
            rows = conn.execute(text("select name, name_key, pin_hash from students order by id")).all()
            assert [r[1] for r in rows] == ["dana late", "dana late #2"]  # a clash keeps both, told apart
            assert verify_password("K7PQ", rows[0][2]) and verify_password("M2XY", rows[1][2])
            assert "K7PQ" not in rows[0][2]
            assert conn.execute(text("select marks from submissions order by id")).scalar() == "cw"
            # 0003: each row numbered as the attempt it was, per student and exercise (the limit's unique key)
            assert conn.execute(text("select attempt from submissions order by id")).scalars().all() == [1, 2, 1]
            assert conn.execute(text("select email from teachers where is_admin")).scalars().all() == ["a@s.example"]
            assert conn.execute(text("select count(*) from settings where key = 'session_secret'")).scalar() == 0
            assert conn.execute(text("select max_attempts, hints, credit from assignments")).one() == (3, 1, "half")
            assert conn.execute(text("select version_num from alembic_version")).scalar() == "0003"
        s = Client(app)
        assert join(s, "ABCDEF", "Dana Late", "K7PQ").status_code == 303  # the old PIN still works, now hashed
    finally:
        app.state.writer.stop()
        app.state.engine.dispose()


def test_downgrade_is_refused(tmp_path: Path) -> None:
    app = create_app(str(tmp_path / "d.sqlite3"))
    app.state.writer.stop()
    cfg = Config()
    cfg.set_main_option("script_location", "byhand.web:migrations")
    with app.state.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        with pytest.raises(NotImplementedError):
            command.downgrade(cfg, "0001")
    app.state.engine.dispose()
