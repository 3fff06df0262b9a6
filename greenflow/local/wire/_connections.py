"""How long a connection may stay silent, and how many connections the service keeps.

A client that opens connections and sends nothing (or a request one byte at a time) would
otherwise hold a connection greenlet and a file descriptor for ever; enough of them and
the process runs out of descriptors, so real requests go unanswered. Authentication
cannot help: it happens only once a whole request has been read. Three limits bound this:

* **request timeout** (the header-read timeout): once a request's first byte arrives, its
  head and body must all arrive within it; a new connection must start its first request
  within it too. Sending an answer to a client that does not read is bounded by it.
* **idle timeout**: how long a keep-alive connection may wait for its next request.
* **connection cap**: at most this many open connections. Reaching it logs a warning and
  closes the connection that has waited longest for a request, so the newcomer is served;
  when every connection is answering a request, new ones wait in the listen backlog.

None of them ever applies while a request is being answered: a long poll (60 s on SWF)
waits as long as it needs, and its connection is never the one closed at the cap.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("greenflow.local")

#: Default time (seconds) a client has to send a whole request once it started one.
REQUEST_TIMEOUT = 20.0
#: Default time (seconds) a keep-alive connection may wait for its next request.
IDLE_TIMEOUT = 60.0
#: Descriptors left to the rest of the process (database, logs, the program embedding
#: the service) when the connection cap is derived from the open-file limit.
RESERVED_DESCRIPTORS = 64
#: The default cap never exceeds this, however high the open-file limit.
MAX_DEFAULT_CONNECTIONS = 4096
#: Least time (seconds) between two "connection cap reached" warnings.
WARN_INTERVAL = 60.0


def default_max_connections() -> int:
    """The connection cap when none is configured: what the open-file limit leaves room
    for (minus :data:`RESERVED_DESCRIPTORS`), at most :data:`MAX_DEFAULT_CONNECTIONS`."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_DEFAULT_CONNECTIONS
    return max(8, min(MAX_DEFAULT_CONNECTIONS, soft - RESERVED_DESCRIPTORS))


@dataclass(frozen=True)
class ConnectionLimits:
    """The three limits of the module docstring.

    Args:
        request_timeout: seconds a client has to send a whole request (head and body)
            once it started one, or to start its first one on a new connection.
        idle_timeout: seconds a keep-alive connection may wait for its next request.
        max_connections: the most connections open at once; ``None``: see
            :func:`default_max_connections`.

    Raises:
        ValueError: a limit that is not a positive number.
    """

    request_timeout: float = REQUEST_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    max_connections: int | None = None

    def __post_init__(self) -> None:
        for name in ("request_timeout", "idle_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        cap = self.max_connections
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ValueError(f"max_connections must be a positive integer, not {cap!r}")

    @property
    def connection_cap(self) -> int:
        """:attr:`max_connections`, or the default derived from the open-file limit."""
        return self.max_connections if self.max_connections is not None else default_max_connections()


class ConnectionRegistry:
    """The open connections, and which of them wait for a request (may be closed at the cap).

    Each connection's greenlet calls :meth:`opened` first and :meth:`closed` last, and
    marks itself :meth:`waiting` while it reads a request and :meth:`answering` while it
    answers one. All calls happen in the service's hub thread.

    Args:
        cap: the most connections open at once.
    """

    def __init__(self, cap: int):
        self.cap = cap
        self.open = 0
        # Connections waiting for (or reading) a request, oldest wait first.
        self._waiting: dict[Any, None] = {}
        self._warned_at = float("-inf")

    def opened(self, greenlet: Any) -> None:
        """A connection was accepted; at the cap, close the one that has waited longest."""
        self.open += 1
        self._waiting[greenlet] = None
        if self.open < self.cap:
            return
        victim = next((other for other in self._waiting if other is not greenlet), None)
        now = time.monotonic()
        if now - self._warned_at >= WARN_INTERVAL:
            self._warned_at = now
            log.warning(
                "connection cap reached: %d connections open (max_connections=%d); %s",
                self.open, self.cap,
                "closing the connection idle the longest" if victim is not None else
                "every connection is answering a request, so new connections wait until one closes")
        if victim is not None:
            del self._waiting[victim]
            victim.kill(block=False)

    def waiting(self, greenlet: Any) -> None:
        """The connection waits for (or reads) a request: it may be closed at the cap."""
        self._waiting.pop(greenlet, None)
        self._waiting[greenlet] = None

    def answering(self, greenlet: Any) -> None:
        """The connection answers a request (a long poll, perhaps): it is never closed."""
        self._waiting.pop(greenlet, None)

    def closed(self, greenlet: Any) -> None:
        """The connection is closed."""
        self.open -= 1
        self._waiting.pop(greenlet, None)
