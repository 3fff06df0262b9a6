"""Serving the console: gevent's WSGI server, loopback unless users must log in."""

from __future__ import annotations

import logging
from typing import Any, Iterable

from gevent.pywsgi import WSGIServer

from ._app import create_app
from ._auth import BasicAuth, check_binding
from ._backend import ConsoleBackend
from ._code import WorkflowCode

__all__ = ["Console"]

log = logging.getLogger("greenflow.console")


class Console:
    """The console for one SWF endpoint, served over HTTP by gevent.

    Args:
        swf: a :class:`greenflow.swf.SWFClient` (``greenflow.connect(...)``).
        host, port: where to listen (port 0: a free port, see :attr:`url`).
        workflow_classes, workflow_modules: the workflow code the stack trace replays with.
        auth: ``(user, password)`` for HTTP basic authentication, required to listen on
            anything but a loopback address.
        refresh: seconds between two refreshes of a live page fragment.

    Raises:
        AuthConfigError: a non-loopback ``host`` without ``auth``.
        ImportError: a workflow module cannot be imported.
    """

    def __init__(self, swf: Any, *, host: str = "127.0.0.1", port: int = 0, workflow_classes: Iterable[type] = (),
                 workflow_modules: Iterable[str] = (), auth: tuple[str, str] | None = None, refresh: float = 2.0):
        check_binding(host, auth)
        if refresh <= 0:
            raise ValueError(f"refresh must be a positive number of seconds, not {refresh!r}")
        self.swf = swf
        self.backend = ConsoleBackend(swf, WorkflowCode(workflow_classes, workflow_modules))
        self.app = create_app(self.backend, refresh=refresh, endpoint_label=swf.endpoint)
        application: Any = self.app if auth is None else BasicAuth(self.app, *auth)
        self._server = WSGIServer((host, port), application, log=None, error_log=log)

    @property
    def url(self) -> str:
        """The console's base URL (once started)."""
        host, port = self._server.address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"

    def start(self) -> "Console":
        """Listen and serve in the background (gevent greenlets); returns self."""
        self._server.start()
        return self

    def serve_forever(self) -> None:
        """Listen and serve until stopped (SIGINT/SIGTERM in the command)."""
        self._server.serve_forever()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop listening and wait at most ``timeout`` seconds for requests in progress."""
        self._server.stop(timeout)

    def __enter__(self) -> "Console":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
