"""Who may use the explorer: a token, checked on every request before Solara sees it.

Bound to this machine only (127.0.0.1) the explorer needs no token; on any other address anyone who can reach the
port could run studies and read the results folder, so a token is required there (generated and printed, as
Jupyter does, unless ``--token`` or ``SIM_APP_TOKEN`` gives one). The first request carrying ``?token=`` gets a
cookie, so the page's own later requests (assets, the websocket) pass without it; every other request gets 403.
"""

from __future__ import annotations

import hmac
import http.cookies
import ipaddress
import secrets
import urllib.parse

MIN_TOKEN = 16
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


def is_local(host: str) -> bool:
    """Whether serving on ``host`` keeps the explorer on this machine (a loopback address)."""
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 32 characters, all of them in TOKEN_CHARS


def check_token(token: str, source: str) -> str | None:
    """The one-line complaint about a token given by ``source`` (``'--token'``, ``SIM_APP_TOKEN``), or None. The
    token is never echoed: it is a secret, and error lines end up in logs."""
    if not token:
        return f"{source} is empty; give a token of at least {MIN_TOKEN} characters, or leave it out to have one made"
    if len(token) < MIN_TOKEN:
        return f"{source} must be at least {MIN_TOKEN} characters long, got {len(token)}"
    if not set(token) <= TOKEN_CHARS:
        return f"{source} may hold only letters, digits and - . _ ~ (it goes in the address as ?token=...)"
    return None


class TokenGate:
    """ASGI middleware: a request passes with the right token (``?token=``, the cookie this sets, or an
    ``Authorization: token ...`` header); else HTTP gets 403 and a websocket is closed before it is accepted (the
    client sees 403). Without a token (this machine only) every request passes, but a websocket opened from another
    site's page (its Origin is not this server) is refused all the same."""

    def __init__(self, app, token: str | None, port: int):
        self.app, self.token = app, token
        self.cookie = f"sim_app_token_{port}"  # one per port: two explorers on one host keep their own

    def _good(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(presented.encode(), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if scope["type"] == "websocket" and not _same_origin(headers):
            return await _refuse(scope, receive, send)
        if self.token is None:  # this machine only: and only by a name of this machine (another site's name that
            if not _local_host(headers):  # resolves here, DNS rebinding, would let its page drive the explorer)
                return await _refuse(scope, receive, send)
            return await self.app(scope, receive, send)
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        from_query = (query.get("token") or [None])[0]
        cookies = http.cookies.SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except http.cookies.CookieError:
            pass
        from_cookie = cookies[self.cookie].value if self.cookie in cookies else None
        scheme, _, from_header = headers.get("authorization", "").partition(" ")
        from_header = from_header.strip() if scheme.lower() in ("token", "bearer") else None
        if self._good(from_cookie) or self._good(from_header):
            return await self.app(scope, receive, send)
        if not self._good(from_query):
            return await _refuse(scope, receive, send)
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        # a good ?token=: set the cookie, and send the browser to the same address without the token (so it does
        # not stay in the address bar, the history or a Referer)
        rest = urllib.parse.urlencode([(k, v) for k, vs in query.items() if k != "token" for v in vs])
        path = "/" + (scope.get("root_path", "") + scope["path"]).lstrip("/")  # ('//x' would send it to host x)
        location = urllib.parse.quote(path, safe="/-._~!$&'()*+,;=:@%") + (f"?{rest}" if rest else "")
        # Lax: the printed link works when clicked in another site's page; no other site's fetch or websocket
        # carries the cookie
        cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Lax"
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode("latin-1")), (b"set-cookie", cookie.encode()),
                                (b"cache-control", b"no-store"), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


def _same_origin(headers: dict) -> bool:
    """A browser names the page that opens a websocket in Origin; it must be this server (no Origin: not a
    browser, let the token decide)."""
    origin = headers.get("origin")
    if not origin:
        return True
    return urllib.parse.urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


def _local_host(headers: dict) -> bool:
    """Whether the request names this machine in Host (localhost or a loopback address), as a browser on this
    machine does; a page of another site whose name was made to resolve here names that site."""
    host = headers.get("host", "")
    name = urllib.parse.urlsplit("//" + host).hostname if host else None
    return bool(name) and is_local(name)


async def _refuse(scope, receive, send) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008})  # before accept: the server answers 403
        return
    body = (b"403: this explorer needs its token. Open the address it printed when it started "
            b"(http://...:port/?token=...).\n")
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
