"""Passwords (scrypt), CSRF tokens, join codes, a request-size limit and a small rate limiter."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# -- passwords: hashlib.scrypt (RFC 7914), a standard memory-hard KDF ------------------------

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(dk)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, dk = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(dk)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY = hash_password(secrets.token_urlsafe(12))


def burn_time(password: str) -> None:
    """Spend the same time as a real check, so a login for an unknown e-mail takes as long as a wrong password."""
    verify_password(password, _DUMMY)


# -- codes ------------------------------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_code(n: int = 6) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(n))


def clean_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isalnum())[:16]


# -- CSRF: a per-session token, in each form and in the X-CSRF-Token header of script calls ---


def csrf_token(session: dict[str, Any]) -> str:
    tok = session.get("csrf")
    if not isinstance(tok, str) or len(tok) < 20:
        tok = secrets.token_urlsafe(24)
        session["csrf"] = tok
    return tok


def csrf_ok(session: dict[str, Any], given: str | None) -> bool:
    tok = session.get("csrf")
    return isinstance(tok, str) and isinstance(given, str) and len(tok) >= 20 and hmac.compare_digest(tok, given)


# -- request size ------------------------------------------------------------------------------


class BodyLimit:
    """Refuse a request body over ``limit`` bytes with 413: by its Content-Length, or while it streams."""

    def __init__(self, app: ASGIApp, limit: int = 64 * 1024) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    too_big = int(v) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(send)
                    return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = b"The request is too large."
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# -- rate limiting of guesses (logins, join codes) ---------------------------------------------


class RateLimit:
    """At most ``n`` failures per key in ``window`` seconds (in memory: per server process)."""

    def __init__(self, n: int = 10, window: float = 600.0) -> None:
        self.n, self.window = n, window
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._fails.get(key)
            while q and now - q[0] > self.window:
                q.popleft()
            return q is not None and len(q) >= self.n

    def fail(self, key: str) -> None:
        with self._lock:
            if len(self._fails) > 100_000:
                self._fails.clear()
            self._fails.setdefault(key, deque()).append(time.monotonic())
