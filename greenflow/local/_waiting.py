"""How a long poll tells the layer that called it that it is about to block.

The HTTP layer watches a long poll's connection for a client hang-up, which needs a
watcher greenlet reading the socket. Most polls find a task at once and never block, so
the watcher is only started when the poll is about to wait: the HTTP layer sets
:data:`before_blocking` around the call, and the engine calls it before each wait.
Context variables are per greenlet under gevent, so each connection sees its own.
"""

from __future__ import annotations

import contextvars
from typing import Callable

#: Called (no arguments) by a long poll just before it blocks waiting for a task; may be
#: called more than once per poll. ``None`` when nobody needs to know.
before_blocking: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "greenflow_before_blocking", default=None)
