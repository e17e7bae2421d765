"""byhand in the browser: practice without an account, and a classroom server for a teacher.

``byhand serve`` runs :func:`serve`; :func:`create_app` gives the ASGI app (for tests, or to run
under another ASGI server).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["create_app", "serve", "missing"]

NEEDS = ("starlette", "uvicorn", "jinja2", "multipart", "itsdangerous", "sqlalchemy", "alembic", "platformdirs")


def missing() -> list[str]:
    """The modules of the ``web`` extra that are not installed (empty when ``byhand serve`` can run)."""
    import importlib.util

    return [m for m in NEEDS if importlib.util.find_spec(m) is None]


def create_app(db: str | None = None, **kw: Any) -> Starlette:
    from byhand.web.app import create_app as make

    return make(db, **kw)


def lan_address() -> str:
    """This machine's address on the local network (no packet is sent), or 127.0.0.1."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 1))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def serve(host: str = "127.0.0.1", port: int = 8000, db: str | None = None, *, secure_cookies: bool = False,
          log_level: str = "warning", signup: str = "invite", public_url: str | None = None, trusted_proxy: str | None = None,
          hsts: bool = False) -> None:
    """Run the server (uvicorn) until interrupted. The database schema is migrated at startup."""
    import uvicorn

    from byhand.web.db import normalise_url

    if public_url is None:
        shown_host = lan_address() if host in ("0.0.0.0", "::") else host
        public_url = f"http://{shown_host}:{port}"
    app = create_app(db, secure_cookies=secure_cookies, signup=signup, public_url=public_url, trusted_proxy=trusted_proxy,
                     hsts=hsts)
    from sqlalchemy.engine import make_url

    shown = make_url(normalise_url(db)).render_as_string(hide_password=True)
    print(f"byhand: serving on http://{host}:{port}  (students join at {public_url}/join; database: {shown}; signup: {signup}; "
          "Ctrl+C stops)", flush=True)
    from byhand.web.pauses import Collector, Quiet

    quiet = Quiet(app)
    Collector(quiet)  # the garbage collector's full pauses at quiet moments, not in a class's answers (byhand.web.pauses)
    uvicorn.run(quiet, host=host, port=port, log_level=log_level, server_header=False, proxy_headers=False,
                timeout_keep_alive=30, limit_concurrency=1000, h11_max_incomplete_event_size=16 * 1024)
