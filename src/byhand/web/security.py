"""Passwords (scrypt), CSRF tokens, join codes, a request-size limit and a small rate limiter."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from byhand.web.models import RateEvent

# -- passwords: hashlib.scrypt (RFC 7914), a standard memory-hard KDF ------------------------

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
"""OWASP's minimum for scrypt: N = 2^17, r = 8, p = 1 (128 MiB and about a third of a second per hash)."""
PIN_N = 2**14
"""A PIN is short (6 symbols of 32): its safety is the per-student lockout, the KDF only keeps a stolen
database from showing PINs at a glance; a cheaper cost keeps a class joining at once fast."""
MIN_PASSWORD = 8
_KDF_SLOTS = threading.BoundedSemaphore(2)
"""At most two hashes at once per process: 30 logins at the same moment cannot take 30 × 128 MiB."""


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    with _KDF_SLOTS:
        return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=2 * 128 * r * n + 2**20)


def hash_password(password: str, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    dk = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P, 32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(dk)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, dk = stored.split("$")
        if scheme != "scrypt" or not 2 <= int(n) <= 2**20 or not 1 <= int(r) <= 16 or not 1 <= int(p) <= 4:
            return False
        want = base64.b64decode(dk)
        got = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p), len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def needs_rehash(stored: str, n: int = SCRYPT_N) -> bool:
    """A hash made with a weaker cost than today's: rehashed at the next successful login."""
    parts = stored.split("$")
    try:
        return parts[0] != "scrypt" or int(parts[1]) < n or int(parts[2]) < SCRYPT_R
    except (IndexError, ValueError):
        return True


def hash_pin(pin: str) -> str:
    return hash_password(pin, PIN_N)


_DUMMY = hash_password(secrets.token_urlsafe(12))
_DUMMY_PIN = hash_pin("AAAAAA")


def burn_time(password: str) -> None:
    """Spend the same time as a real check, so a login for an unknown e-mail takes as long as a wrong password."""
    verify_password(password, _DUMMY)


def burn_pin_time(pin: str) -> None:
    verify_password(pin, _DUMMY_PIN)


def token_hash(token: str) -> str:
    """What the database keeps of a session or invite token: its SHA-256 (a stolen database holds no live token)."""
    return hashlib.sha256(token.encode()).hexdigest()


# -- codes ------------------------------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


PIN_LENGTH = 6


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
    """At most ``n`` failures per key in ``window`` seconds, counted in the database (``rate_events``): every server
    process sees the same count, so running several workers does not multiply the limit. Keys are kept as HMACs."""

    PRUNE_EVERY = 60.0

    def __init__(self, engine: Engine, name: str, n: int = 10, window: float = 600.0, secret: bytes = b"") -> None:
        self.engine, self.name, self.n, self.window, self.secret = engine, name, n, window, secret
        self._pruned = 0.0

    def _bucket(self, key: str) -> str:
        """The key as kept: an HMAC with the server's secret (an address or e-mail cannot be found by trying them all)."""
        return hmac.new(self.secret, f"{self.name}|{key}".encode(), hashlib.sha256).hexdigest()

    def _since(self) -> datetime:
        return datetime.now() - timedelta(seconds=self.window)

    def _blocked(self, key: str) -> bool:
        with self.engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(RateEvent).where(
                RateEvent.bucket == self._bucket(key), RateEvent.at > self._since())).scalar_one()
        return int(n) >= self.n

    def _fail(self, key: str) -> None:
        t = time.monotonic()
        with self.engine.begin() as conn:
            conn.execute(insert(RateEvent).values(bucket=self._bucket(key), at=datetime.now()))
            if t - self._pruned > self.PRUNE_EVERY:  # failures older than any window are forgotten
                self._pruned = t
                conn.execute(delete(RateEvent).where(RateEvent.at < datetime.now() - timedelta(days=1)))

    def _reset(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(RateEvent).where(RateEvent.bucket == self._bucket(key)))

    async def blocked(self, key: str) -> bool:
        return await run_in_threadpool(self._blocked, key)

    async def fail(self, key: str) -> None:
        await run_in_threadpool(self._fail, key)

    async def reset(self, key: str) -> None:
        await run_in_threadpool(self._reset, key)
