"""A closed server by default, as ASGI middleware around the API and the chat mounted in it:
only the host names it serves (no DNS rebinding), no writes from other sites' pages (a multipart POST
needs no preflight, so any page could upload), no framing, and request bodies counted while they stream.

Cross-site request forgery is held three ways, none of which needs the chat's page to carry a token
(Gradio's client sends none): a foreign Origin is refused, a browser's Sec-Fetch-Site of another site is
refused when the Origin is missing, and the chat's login cookie is SameSite=Lax (Gradio sets None, which
would send it along with any other site's form post)."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import JSONResponse

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
SECURITY_HEADERS = [
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"content-security-policy", b"frame-ancestors 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(bind_host: str, configured: Iterable[str]) -> list[str] | None:
    """The Host names to answer; None = any. Bound to loopback, only loopback names (a page whose domain
    was re-pointed at 127.0.0.1 is turned away); bound to a network address, what is configured, or any."""
    names = [h.lower() for h in configured]
    if names:
        return names if "*" not in names else None
    return list(LOOPBACK_NAMES) if is_loopback(bind_host) else None


def _host_only(value: str) -> str:
    """`example.org:7860` → example.org; `[::1]:7860` → ::1."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class FailedKeys:
    """Wrong keys per client address in a sliding window: past the limit, the client waits (429), so a key
    cannot be guessed at HTTP speed."""

    def __init__(self, limit: int = 10, window_s: float = 60.0):
        self.limit, self.window_s = limit, window_s
        self._seen: dict[str, list[float]] = {}

    def _recent(self, who: str, now: float) -> list[float]:
        times = [t for t in self._seen.get(who, []) if now - t < self.window_s]
        self._seen[who] = times
        return times

    def blocked(self, who: str) -> bool:
        return len(self._recent(who, time.monotonic())) >= self.limit

    def failed(self, who: str) -> None:
        self._recent(who, time.monotonic()).append(time.monotonic())
        if len(self._seen) > 10_000:  # bounded: forget the quiet ones
            self._seen = {k: v for k, v in self._seen.items() if v}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message, "error": {"message": message, "type": "forbidden", "code": status}},
                        status_code=status)


class Guard:
    """Host check, same-origin writes, security headers and a streamed body limit on upload paths."""

    def __init__(self, app, hosts: list[str] | None, origins: Iterable[str] = (), upload_limit: int | None = None,
                 upload_paths: tuple[str, ...] = ("/v1/reports",), failures: FailedKeys | None = None):
        self.app = app
        self.failures = failures  # wrong chat passwords count with wrong API keys, per address
        self.hosts = hosts
        self.origins = {o.rstrip("/").lower() for o in origins}
        self.upload_limit = upload_limit
        self.upload_paths = upload_paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            origin = dict(scope.get("headers") or []).get(b"origin", b"")
            if scope["type"] == "websocket" and (not self._host_ok(scope) or self._foreign(scope) or origin == b"null"):
                return  # closed without accepting
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        if not self._host_ok(scope):
            await _error(421, f"host {headers.get('host', '')!r} is not served here (REPORTQA_ALLOWED_HOSTS)")(
                scope, receive, send)
            return
        origin = headers.get("origin", "").rstrip("/").lower()
        foreign = self._foreign(scope)
        if foreign and (scope["method"] in UNSAFE_METHODS or scope["method"] == "OPTIONS"):
            await _error(403, f"requests from {origin} are not accepted (REPORTQA_ALLOWED_ORIGINS)")(scope, receive, send)
            return
        if origin == "null" and scope["method"] in UNSAFE_METHODS:
            await _error(403, "requests from an opaque origin are not accepted")(scope, receive, send)
            return
        site = headers.get("sec-fetch-site", "")
        if not origin and site in ("cross-site", "same-site") and scope["method"] in UNSAFE_METHODS:
            await _error(403, "requests from another site's page are not accepted")(scope, receive, send)
            return

        async def send_secured(message):
            if message["type"] == "http.response.start":
                kept = [(k, self._cookie(v) if k.lower() == b"set-cookie" else v)
                        for k, v in message.get("headers", [])
                        if not (foreign and k.lower().startswith(b"access-control-"))]
                have = {k.lower() for k, _ in kept}
                kept += [(k, v) for k, v in SECURITY_HEADERS if k not in have]
                message = {**message, "headers": kept}
            await send(message)

        if self.failures is not None and scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/login"):
            await self._login(scope, receive, send_secured)
            return
        if self.upload_limit is not None and scope["method"] == "POST" and \
                scope["path"].rstrip("/").endswith(self.upload_paths):
            await self._limited(scope, receive, send_secured, headers)
            return
        await self.app(scope, receive, send_secured)

    def _host_ok(self, scope) -> bool:
        if self.hosts is None:
            return True
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        return _host_only(host) in self.hosts

    def _foreign(self, scope) -> bool:
        """An Origin header of another site than the one asked, and not one configured."""
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1").rstrip("/").lower()
        if not origin or origin == "null" or origin in self.origins:
            return False
        return urlsplit(origin).netloc != headers.get(b"host", b"").decode("latin-1").strip().lower()

    @staticmethod
    def _cookie(value: bytes) -> bytes:
        """SameSite=None → Lax: nothing needs the chat's cookie sent from another site (framing is refused,
        and sites allowed to post use the API with its key)."""
        return re.sub(rb"(?i)samesite=none", b"SameSite=lax", value)

    async def _login(self, scope, receive, send) -> None:
        """The chat's password form: a client past the limit of wrong passwords waits, like a wrong API key."""
        failures = self.failures
        assert failures is not None
        who = (scope.get("client") or ("?",))[0]
        if failures.blocked(who):
            message = "密码错误次数过多，请一分钟后再试"
            await JSONResponse({"detail": message, "error": {"message": message, "type": "rate_limited", "code": 429}},
                               status_code=429, headers={"Retry-After": str(int(failures.window_s))})(scope, receive, send)
            return

        async def watched(message):
            if message["type"] == "http.response.start" and message["status"] in (400, 401):
                failures.failed(who)  # Gradio answers a wrong password with 400
            await send(message)

        await self.app(scope, receive, watched)

    async def _limited(self, scope, receive, send, headers: dict[str, str]) -> None:
        """Refuse a body over the limit: at once when its declared length says so, else as soon as the
        bytes that streamed in pass it, without reading (or spooling) the rest."""
        limit = self.upload_limit or 0
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _too_large(int(length), limit)(scope, receive, send)
            return
        received, over, started = 0, False, False

        async def counted():
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def send_unless_over(message):
            nonlocal started
            if over:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, send_unless_over)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _too_large(received, limit)(scope, receive, send)


def _too_large(size: int, limit: int) -> JSONResponse:
    message = f"upload of {size / 1e6:.1f} MB or more is over the limit of {limit / 1e6:.0f} MB (REPORTQA_MAX_UPLOAD_MB)"
    return JSONResponse({"detail": message, "error": {"message": message, "type": "request_too_large", "code": 413}},
                        status_code=413)
