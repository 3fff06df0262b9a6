"""Who may use the console: loopback only, unless its users must log in.

The console can signal, cancel and terminate executions, so it never listens beyond the
machine without a way to tell its users apart from everyone else. With ``--auth
USER:PASSWORD`` (HTTP basic authentication, compared in constant time) it may listen on
any address; put it behind TLS (a reverse proxy) when it does, or passwords cross the
network in clear. Actions also require htmx's ``HX-Request`` header and a same-origin
``Origin``, so another site cannot make a logged-in browser post to the console.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
from typing import Any, Callable, Iterable

__all__ = ["BasicAuth", "is_loopback", "parse_auth", "check_binding", "AuthConfigError"]


class AuthConfigError(ValueError):
    """The console was asked to listen beyond loopback without authentication, or ``--auth`` is malformed."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only reaches this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere


def check_binding(host: str, auth: tuple[str, str] | None) -> None:
    """Refuse to listen beyond loopback without a login.

    Raises:
        AuthConfigError: ``host`` is not a loopback address and ``auth`` is ``None``.
    """
    if not is_loopback(host) and auth is None:
        raise AuthConfigError(
            f"the console would listen on {host}, beyond this machine, with no login: it can terminate "
            f"executions. Give --auth USER:PASSWORD (and put it behind TLS), or listen on 127.0.0.1")


def parse_auth(text: str | None) -> tuple[str, str] | None:
    """``USER:PASSWORD`` → ``(user, password)``; ``None``/"" → ``None``.

    Raises:
        AuthConfigError: no colon, an empty user or an empty password.
    """
    if not text:
        return None
    user, colon, password = text.partition(":")
    if not colon or not user or not password:
        raise AuthConfigError("--auth must be USER:PASSWORD with both parts non-empty")
    return user, password


class BasicAuth:
    """WSGI middleware: HTTP basic authentication for every request.

    Args:
        app: the WSGI application it guards.
        user, password: the one account that may log in.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], user: str, password: str):
        self.app = app
        self._expected = b"Basic " + base64.b64encode(f"{user}:{password}".encode())

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = environ.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace")
        if hmac.compare_digest(given, self._expected):
            return self.app(environ, start_response)
        start_response("401 Unauthorized", [("Content-Type", "text/plain; charset=utf-8"),
                                            ("WWW-Authenticate", 'Basic realm="greenflow console", charset="UTF-8"')])
        return [b"greenflow console: log in with the user and password given to --auth\n"]
