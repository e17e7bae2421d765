"""The page's language: ``?lang=hi`` picks it (and a cookie keeps it), else the cookie, else the browser's
Accept-Language, else English. Each request runs in its language (:func:`byhand.i18n.use_language`), so the
templates, the exercise text and the messages the handlers build are all in it."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from byhand.i18n import LANGUAGES, use_language

COOKIE = "byhand_lang"
ONE_YEAR = 365 * 24 * 3600


def _pick(scope: Scope) -> tuple[str, bool]:
    """(language, whether the query asked for it)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    asked = (query.get("lang") or [""])[0].strip().lower()
    if asked in LANGUAGES:
        return asked, True
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    if "cookie" in headers:
        c = SimpleCookie()
        try:
            c.load(headers["cookie"])
        except Exception:  # a malformed cookie header: ignore it, as browsers do
            c = SimpleCookie()
        if COOKIE in c and c[COOKIE].value in LANGUAGES:
            return c[COOKIE].value, False
    for part in headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in LANGUAGES:
            return code, False
    return "en", False


def pick_language(scope: Scope) -> str:
    """The language a request asks for (query, cookie, Accept-Language, else English)."""
    return _pick(scope)[0]


class LanguageMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lang, asked = _pick(scope)

        async def send_with_cookie(message: Message) -> None:
            if asked and message["type"] == "http.response.start":
                cookie = f"{COOKIE}={lang}; Path=/; Max-Age={ONE_YEAR}; SameSite=Lax"
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)

        with use_language(lang):
            await self.app(scope, receive, send_with_cookie)
