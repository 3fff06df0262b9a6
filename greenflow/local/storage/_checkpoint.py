"""WAL checkpoints while the service is idle, so that they rarely land on a request.

Every commit appends the pages it changed to SQLite's write-ahead log; a checkpoint copies
them back into the database file and syncs it. Left to SQLite, that happens inside the
commit that makes the WAL cross its bound: one request in a few hundred then pays for
all of them (the p99 latency). :class:`IdleCheckpointer` checkpoints once the service has
had no commit for :data:`IDLE_SECONDS`, and SQLite's own checkpoint stays as the bound
(:data:`~._store.WAL_BOUND_PAGES`) for a service that is never idle.
"""

from __future__ import annotations

import logging

import gevent
from gevent.event import Event

from ._store import Store

log = logging.getLogger("greenflow.local")

#: How long (real seconds) the service must go without a commit before it checkpoints.
IDLE_SECONDS = 0.05


class IdleCheckpointer:
    """A greenlet that checkpoints ``store`` after each busy spell, once it is quiet.

    It sleeps on an event while nothing was committed since the last checkpoint, so an
    idle service does not wake up for it.

    Args:
        store: the service's store.
        idle_seconds: the quiet time that counts as idle.
    """

    def __init__(self, store: Store, idle_seconds: float = IDLE_SECONDS):
        self.store = store
        self.idle_seconds = idle_seconds
        self._greenlet: gevent.Greenlet | None = None
        self._work: Event | None = None

    def start(self) -> None:
        """Spawn the greenlet (in the service's hub thread)."""
        if self._greenlet is None:
            self._work = Event()
            self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop the greenlet (SQLite checkpoints on close anyway)."""
        greenlet, self._greenlet = self._greenlet, None
        self.store.on_next_commit(None)
        if greenlet is not None and greenlet is not gevent.getcurrent():
            greenlet.kill(block=False)

    def _run(self) -> None:
        store = self.store
        work = self._work
        assert work is not None, "made by start()"
        while True:
            if not store.commits_since_checkpoint:
                work.clear()
                store.on_next_commit(work.set)
                work.wait()
            # Wait until a whole quiet spell passes without a commit.
            while True:
                seen = store.commits
                gevent.sleep(self.idle_seconds)
                if store.commits == seen and not store.in_transaction:
                    break
            try:
                store.checkpoint()
            except Exception:
                # A failed checkpoint loses nothing (the WAL keeps the data); try next time.
                log.exception("checkpointing the database failed")
                store.commits_since_checkpoint = 0
