"""The database: SQLite (WAL, synchronous=FULL) by default in the user data dir, or PostgreSQL by URL.

The schema is brought to the newest Alembic revision at startup (``alembic upgrade head`` through
the API); the migration scripts ship inside the package.
"""

from __future__ import annotations

import hashlib
import hmac
import os
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
from byhand.i18n import M_
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
            M_("--db {db!r} is not a database URL; use a file path, sqlite:///FILE or postgresql://USER@HOST/DB", db=db)
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ByHandError(M_("--db: the {get_backend_name} database is not supported; use SQLite or PostgreSQL",
                             get_backend_name=url.get_backend_name()))
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
        # as many pooled connections as worker threads (anyio's 40, plus the writer): an SQLite connection
        # is cheap to keep, and one opened and closed per request under load (with its PRAGMAs) is not
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, pool_size=48, max_overflow=16)
        event.listen(engine, "connect", _sqlite_pragmas)
        # let SQLAlchemy's BEGIN be a real BEGIN IMMEDIATE for writers is not needed: busy_timeout serialises them
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


MIGRATION_LOCK = 0x6279_6861_6E64  # "byhand": the PostgreSQL advisory lock held while migrating


def migrate(engine: Engine) -> None:
    """``alembic upgrade head`` with the scripts inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", "byhand.web:migrations")
    if engine.dialect.name == "sqlite":
        # SQLite alters a table by copying it and dropping the old one; with foreign keys on, that drop would
        # cascade and delete every student's work. They are off while migrating (outside any transaction).
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()
        if bad:
            raise ByHandError(M_("the database's foreign keys do not hold after migrating ({bad} rows); restore a backup",
                                 bad=len(bad)))
        return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # servers starting together on one database: one migrates, the others wait, then find it done
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


SECRET_ENV = "BYHAND_SECRET"


def key_file_for(url: str) -> Path:
    """Where the server's secret is kept when ``BYHAND_SECRET`` is not set: beside a SQLite file, else in the user
    data dir (one secret per machine, shared by every server process on it)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        return Path(u.database).with_name(Path(u.database).name + ".key")
    return Path(platformdirs.user_data_dir("byhand", appauthor=False)) / "server.key"


def master_secret(url: str, key_file: Path | None = None) -> bytes:
    """The server's secret: ``$BYHAND_SECRET``, or a random key in a file readable by its owner only (made once,
    atomically, so servers starting together agree). It is never written to the database."""
    env = os.environ.get(SECRET_ENV, "")
    if env:
        if len(env) < 32:
            raise ByHandError(M_("${secret_env} is too short; use at least 32 random characters (python -c 'import "
                                 "secrets; print(secrets.token_urlsafe(48))')",
                                 secret_env=SECRET_ENV))
        return env.encode()
    path = key_file or key_file_for(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if another process made it first: then theirs is the one
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    data = path.read_text().strip()
    if len(data) < 32:
        raise ByHandError(M_("the server key in {path} is damaged; delete it (every device then signs in again)", path=path))
    return data.encode()


def derive(master: bytes, purpose: str) -> bytes:
    """One key per use, derived from the master secret (HMAC-SHA256): the cookie key cannot unseal a printed code."""
    return hmac.new(master, f"byhand-web/1/{purpose}".encode(), hashlib.sha256).digest()


def check_secret(sessions: sessionmaker[Session], master: bytes) -> None:
    """The database keeps a fingerprint of the secret (not the secret): a server started with another key stops here
    instead of quietly making every printed code and session unreadable."""
    fp = derive(master, "fingerprint").hex()
    for _ in range(3):
        try:
            with sessions.begin() as s:
                row = s.scalar(select(Setting).where(Setting.key == "secret_fingerprint"))
                if row is None:
                    s.add(Setting(key="secret_fingerprint", value=fp))
                    return
                if not hmac.compare_digest(row.value, fp):
                    raise ByHandError(M_("this database was set up with another server secret; set ${secret_env} (or "
                                         "the key file) to the one it was made with",
                                         secret_env=SECRET_ENV))
                return
        except IntegrityError:  # another worker wrote it first
            continue
    raise ByHandError("could not record the server secret's fingerprint in the database")


def secret_key(sessions: sessionmaker[Session], key_file: Path | None = None) -> str:
    """The key that signs session cookies, derived from :func:`master_secret` (shared by every worker on a machine)."""
    engine = sessions.kw["bind"]
    master = master_secret(engine.url.render_as_string(hide_password=False), key_file)
    check_secret(sessions, master)
    return derive(master, "cookie").hex()
