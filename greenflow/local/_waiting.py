"""How a long poll and the layer that called it talk about the poll's client.

The HTTP layer watches a long poll's connection for a client hang-up, which needs a
watcher greenlet reading the socket. Most polls find a task at once and never block, so
the watcher is only started when the poll is about to wait: the HTTP layer sets
:data:`before_blocking` around the call, and the engine calls it before each wait.

The watcher only runs when the event loop polls for I/O; a task that arrives in the same
turn of the loop as the hang-up wakes the poll first. So the poll also asks, right before
it takes a task, whether its client is still there (:data:`client_gone`), and raises
:class:`ClientGone` instead of taking one.

Context variables are per greenlet under gevent, so each connection sees its own.
"""

from __future__ import annotations

import contextvars
from typing import Callable

class ClientGone(Exception):
    """The client of a long poll hung up before the poll took a task; nothing was taken."""


#: Called (no arguments) by a long poll right before it takes a task: ``True`` when the
#: client that asked has hung up (the poll then raises :class:`ClientGone`). ``None`` when
#: nobody knows the client (a call from inside the service).
client_gone: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar(
    "greenflow_client_gone", default=None)

#: Called (no arguments) by a long poll just before it blocks waiting for a task; may be
#: called more than once per poll. ``None`` when nobody needs to know.
before_blocking: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "greenflow_before_blocking", default=None)


# How many waiting calls (long polls, held listings) have been woken so far: the HTTP layer
# compares it around a request to know whether the request woke one (see woken()).
_wakes = [0]


def woke() -> None:
    """Count that a waiting call was just woken (its task or close is ready for it)."""
    _wakes[0] += 1


def wakes() -> int:
    """How many waiting calls have been woken so far in this process."""
    return _wakes[0]
