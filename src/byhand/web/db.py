"""The database: SQLite (WAL, synchronous=FULL) by default in the user data dir, or PostgreSQL by URL.

The schema is brought to the newest Alembic revision at startup (``alembic upgrade head`` through
the API); the migration scripts ship inside the package.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from byhand.errors import ByHandError
from byhand.web.models import Setting


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("byhand", appauthor=False)) / "byhand.sqlite3"


def normalise_url(db: str | None) -> str:
    """``None`` → the SQLite file in the user data dir; a path → SQLite; ``postgresql://`` → psycopg 3."""
    if db is None or db == "":
        p = default_path()
        p.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{p}"
    if "://" not in db:
        p = Path(db).expanduser().resolve()
        p.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{p}"
    try:
        url = make_url(db)
    except Exception:
        raise ByHandError(
            f"--db {db!r} is not a database URL; use a file path, sqlite:///FILE or postgresql://USER@HOST/DB"
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ByHandError(f"--db: the {url.get_backend_name()} database is not supported; use SQLite or PostgreSQL")
    return url.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")  # an acknowledged commit survives kill -9 and power loss
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(db: str | None) -> Engine:
    url = normalise_url(db)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, pool_size=8, max_overflow=16)
        event.listen(engine, "connect", _sqlite_pragmas)
        # let SQLAlchemy's BEGIN be a real BEGIN IMMEDIATE for writers is not needed: busy_timeout serialises them
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


MIGRATION_LOCK = 0x6279_6861_6E64  # "byhand": the PostgreSQL advisory lock held while migrating


def migrate(engine: Engine) -> None:
    """``alembic upgrade head`` with the scripts inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", "byhand.web:migrations")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # servers starting together on one database: one migrates, the others wait, then find it done
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def secret_key(sessions: sessionmaker[Session]) -> str:
    """The key that signs session cookies: made once, kept in the database (so every worker shares it)."""
    for _ in range(3):
        try:
            with sessions.begin() as s:
                row = s.scalar(select(Setting).where(Setting.key == "session_secret"))
                if row is None:
                    row = Setting(key="session_secret", value=secrets.token_urlsafe(48))
                    s.add(row)
                return row.value
        except IntegrityError:  # another worker made it first
            continue
    raise ByHandError("could not create the session key in the database")
