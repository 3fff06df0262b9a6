"""The scheduler that fires due deadlines of the heap in :mod:`._deadlines`.

Each due entry goes to its handler in :mod:`._timeouts`; entries due together share one
committed unit of work (each gets its own if that unit fails); the retention sweep is a
deadline kind of its own.
"""

from __future__ import annotations

import logging
from typing import Any

import gevent
from gevent.event import Event

from ._state import EngineState, EventLimitFault
from ._timeouts import HANDLERS

log = logging.getLogger("greenflow.local.engine")

#: How often (clock seconds) closed runs past their domain's retention are purged.
SWEEP_INTERVAL = 3600.0
#: Most closed runs per domain one sweep purges.
SWEEP_BATCH = 1000
#: Most deadlines fired together in one unit of work.
FIRE_BATCH = 100
#: The longest the scheduler sleeps (real seconds) before looking at the clock again.
MAX_SLEEP = 30.0


class Scheduler:
    """Fires due deadlines: from a greenlet (real time), from requests, or on ``advance``.

    A greenlet sleeps until the earliest deadline (by the clock, at most
    :data:`MAX_SLEEP` real seconds) and fires everything due, in committed units of work.
    Requests also call :meth:`tick`, so timeouts happen even when the greenlet is not
    running; :meth:`advance` moves a virtual clock and fires at once.
    It also runs the retention sweep, which purges closed runs older than their domain's
    retention period.

    Args:
        core: the engine's state (its ``deadlines`` heap, ``run`` and clock).
    """

    def __init__(self, core: EngineState):
        self.core = core
        self._greenlet: Any = None
        self._stopping = False
        self._wakeup: Any = None

    # ------------------------------------------------------------------ control

    def start(self) -> None:
        """Spawn the scheduler greenlet (in the service's hub thread)."""
        if self._greenlet is None:
            self._stopping = False
            # Made here, in the hub thread, where the greenlet waits on it.
            self._wakeup = Event()
            self.core.wake_scheduler = self._wakeup.set
            self._greenlet = gevent.spawn(self._run_forever)

    def stop(self) -> None:
        """Stop the greenlet (deadlines stay armed; a later start or request fires them)."""
        self._stopping = True
        greenlet, self._greenlet = self._greenlet, None
        self.core.wake_scheduler = lambda: None
        if greenlet is not None and greenlet is not gevent.getcurrent():
            greenlet.kill(block=False)

    def advance(self, seconds: float) -> None:
        """Move a virtual clock forward and fire, committed, everything now due."""
        advance = getattr(self.core.clock, "advance", None)
        if advance is None:
            raise TypeError(f"advance_time needs a clock with advance() (a VirtualClock), "
                            f"not {self.core.clock!r}")
        advance(seconds)
        self.fire_due()
        self.core.wake_scheduler()

    def _run_forever(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            self.fire_due()
            upcoming = self.core.deadlines.next_deadline()
            delay = MAX_SLEEP if upcoming is None else upcoming - self.core.clock.now()
            self._wakeup.wait(min(max(delay, 0.0), MAX_SLEEP))

    # ------------------------------------------------------------------ firing

    def tick(self) -> None:
        """Fire what is due, if anything (cheap when nothing is)."""
        upcoming = self.core.deadlines.next_deadline()
        if upcoming is not None and upcoming <= self.core.clock.now():
            self.fire_due()

    def fire_due(self) -> None:
        """Fire every deadline due now: those due together in one committed unit of work
        (up to :data:`FIRE_BATCH`), each alone if that unit fails."""
        core = self.core
        while True:
            due: list[tuple[str, tuple]] = []
            while len(due) < FIRE_BATCH:
                entry = core.pop_due()
                if entry is None:
                    break
                if entry[0] == "sweep":
                    self._fire(entry)
                else:
                    due.append(entry)
            if not due:
                return
            if len(due) > 1:
                # A service busy answering requests finds many timers and timeouts due at
                # once (a burst of timers started together): one commit for all of them.
                try:
                    core.run(self._fire_all, due)
                    continue
                except Exception:
                    pass  # rolled back, memory too: each is fired alone below, as ever
            for entry in due:
                self._fire(entry)

    def _fire_all(self, unit: Any, due: list[tuple[str, tuple]]) -> None:
        for kind, args in due:
            HANDLERS[kind](self.core, unit, *args)

    def _fire(self, entry: tuple[str, tuple]) -> None:
        """Fire one deadline in its own committed unit of work."""
        core = self.core
        kind, args = entry
        try:
            if kind == "sweep":
                self._sweep()
            else:
                handler = HANDLERS[kind]
                core.run(lambda unit: handler(core, unit, *args))
        except EventLimitFault:
            pass  # the run reached its event limit and was terminated instead
        except Exception:
            # One broken deadline must not stop the others; the run stays as committed.
            log.exception("firing %s %r failed", kind, args)

    # ------------------------------------------------------------------ retention

    def arm_sweep(self, delay: float = SWEEP_INTERVAL) -> None:
        """Schedule the next retention sweep ``delay`` clock seconds from now."""
        self.core.deadlines.push(self.core.clock.now() + delay, "sweep")

    def _sweep(self) -> None:
        """Purge closed runs older than their domain's retention period.

        At most :data:`SWEEP_BATCH` runs per domain at a time, so a sweep never holds the
        service for long; when there are more, the next sweep comes a second later.
        """
        store = self.core.store
        conn = store.connection
        now = self.core.clock.now()
        more = False
        try:
            with store.transaction():
                for name, retention in conn.execute("SELECT name, retention_days FROM domains").fetchall():
                    days = 0 if retention == "NONE" else int(retention)
                    doomed = conn.execute(
                        "SELECT workflow_id, run_id FROM executions WHERE domain=? AND status='CLOSED'"
                        " AND close_ts < ? LIMIT ?", (name, now - days * 86400.0, SWEEP_BATCH)).fetchall()
                    more = more or len(doomed) == SWEEP_BATCH
                    for workflow_id, run_id in doomed:
                        key = (name, workflow_id, run_id)
                        for table in ("events", "execution_tags", "executions"):
                            conn.execute(f"DELETE FROM {table} WHERE domain=? AND workflow_id=? AND run_id=?", key)
        finally:
            self.arm_sweep(1.0 if more else SWEEP_INTERVAL)
