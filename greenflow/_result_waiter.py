"""One watcher per client that tells every waiting handle when its execution closed.

Why: a handle that checks its own history costs one SWF call per check, so many handles
waiting at once (one greenlet per handle calling ``result()``) cost calls in proportion to
waiters times waiting time, and the client spends its CPU on them. Here one watcher per
:class:`~greenflow.client.WorkflowClient` lists the domain's executions closed since its
cursor (``ListClosedWorkflowExecutions``, up to 1,000 a page) and wakes the waiters of the
runs among them; each closed run's close event is then read once, however many wait for it.
Waiting thus costs O(1) calls per completed workflow: one read of the close event, one
first check for a handle the watcher may have missed (see :meth:`ResultWaiter._covered`),
and a share of a listing page, whatever the number of waiters.

How the watcher is woken:

* on a greenflow local service, the listing carries :data:`CLOSE_WAIT_HEADER`, so the
  service holds it until an execution of the domain closes (a long poll, no polling);
* on Amazon SWF, it lists every :data:`LIST_INTERVAL_REMOTE` seconds (SWF throttles
  ``ListClosedWorkflowExecutions`` per account; one watcher per client keeps well within it),
  reading back :data:`VISIBILITY_LAG_REMOTE` seconds because SWF's visibility is eventually
  consistent, and each handle also checks its own run every :data:`RECHECK_INTERVAL` seconds
  as a safety net.

The watcher is a thread (a greenlet when gevent has patched ``threading``); it starts with
the first waiter and ends after :data:`IDLE_LINGER` seconds without any.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from datetime import datetime
from typing import Any, Callable

from ._extensions import CLOSE_EVENT_MEMBER, CLOSE_EVENTS_HEADER, CLOSE_WAIT_HEADER, MAX_CLOSE_WAIT
from ._swf_rules import event_attributes

__all__ = ["ResultWaiter", "CLOSE_EVENTS"]

log = logging.getLogger(__name__)

#: History event types that close a run.
CLOSE_EVENTS = frozenset({
    "WorkflowExecutionCompleted", "WorkflowExecutionFailed", "WorkflowExecutionTimedOut",
    "WorkflowExecutionCanceled", "WorkflowExecutionTerminated", "WorkflowExecutionContinuedAsNew",
})

#: Seconds a local service may hold one listing while nothing closes.
CLOSE_WAIT_LOCAL = 20.0
#: Seconds between two listings on Amazon SWF.
LIST_INTERVAL_REMOTE = 1.0
#: Seconds of close times each Amazon SWF listing reads back (its visibility lags).
VISIBILITY_LAG_REMOTE = 10.0
#: Seconds a waiter on Amazon SWF waits on the watcher before checking its run itself.
RECHECK_INTERVAL = 60.0
#: Seconds the watcher keeps running without waiters (so that a program calling
#: ``result()`` once per workflow keeps its coverage and skips first checks).
IDLE_LINGER = 10.0
#: At program exit, how long to wait for the watcher's last (unheld) listing to end.
EXIT_JOIN = 2.0
#: Seconds closes seen by the watcher are remembered, for handles that start waiting later.
REMEMBER = 30.0
#: Characters of close events (mostly results) kept from listings for handles that start
#: waiting after the watcher saw their run close; beyond it those read the history.
REMEMBER_EVENTS_BUDGET = 4_000_000
#: Seconds before the newest close listed where the next local listing starts (see
#: ResultWaiter._next_cursor).
CURSOR_SLACK = 0.001
#: First pause between listings on a greenflow service that does not hold them.
FALLBACK_PAUSE = 0.01
#: Longest such pause: a local service answers a listing in about a millisecond, and a
#: result found late adds the pause to the caller's latency.
FALLBACK_PAUSE_MAX = 0.05
#: Pause after a failed listing before the next one.
ERROR_PAUSE = 1.0

def _timestamp(value: Any) -> float:
    """Epoch seconds of an SWF timestamp as botocore parsed it (a datetime) or as a number."""
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


class _Entry:
    """The waiters of one run: woken once the run is known closed; its close event read once."""

    __slots__ = ("closed", "event", "lock", "listeners", "waiters")

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.event: dict[str, Any] | None = None   # the close event, once read
        self.lock = threading.Lock()     # one reader of the close event at a time
        self.listeners: list[Callable[[], None]] = []
        self.waiters = 0


class ResultWaiter:
    """Waits for executions of one domain to close, for any number of waiters, cheaply.

    Args:
        swf: the :class:`~greenflow.swf.SWFClient` to call.
        domain: the domain whose executions it watches.

    Use :meth:`close_event` (what ``WorkflowHandle.result()`` calls) or :meth:`watch` (what
    ``wait``/``as_completed`` use). Safe across threads and greenlets.
    """

    def __init__(self, swf: Any, domain: str):
        self.swf = swf
        self.domain = domain
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._seen: dict[tuple[str, str], float] = {}     # closed run -> monotonic time first seen
        # Close events the listings carried (a greenflow service's CLOSE_EVENTS_HEADER), for
        # runs in _seen, within REMEMBER_EVENTS_BUDGET characters.
        self._seen_events: dict[tuple[str, str], tuple[dict[str, Any], int]] = {}
        self._seen_events_size = 0
        self._watcher: threading.Thread | None = None
        self._coverage_since: float | None = None          # monotonic; None while not watching
        self._last_activity = time.monotonic()
        self._joined = threading.Event()  # set when a waiter joins: ends the watcher's idle pause
        self._closing = False  # stop() was called and nobody waited since
        #: Counters for tests and benchmarks: listings made, first checks, close-event reads.
        self.listings = 0
        self.checks = 0
        self.reads = 0

    # ------------------------------------------------------------------ public

    def close_event(self, workflow_id: str, run_id: str, *, started_at: float | None = None,
                    deadline: float | None = None) -> dict[str, Any] | None:
        """The close event of run ``run_id``, waiting for it until ``deadline`` (monotonic).

        ``started_at`` is the monotonic time before this client started the run, if it did:
        a run started while the watcher covered the domain needs no first check of its own.
        Returns ``None`` when the deadline passed first.
        """
        key = (workflow_id, run_id)
        entry = self._join(key, started_at)
        try:
            recheck = self._recheck_interval()
            while not entry.closed.is_set():
                wait = recheck
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    wait = left if wait is None else min(wait, left)
                if entry.closed.wait(wait):
                    break
                if recheck is not None and (deadline is None or time.monotonic() < deadline):
                    self._check(key, entry)  # safety net on Amazon SWF (eventual visibility)
            return self._read(key, entry)
        finally:
            self._leave(key, entry)

    def prime(self) -> None:
        """Say a run is about to be started: the watcher starts (or keeps) covering the domain,
        so that waiting for the run later needs no first check."""
        with self._lock:
            self._last_activity = time.monotonic()
            self._closing = False
            self._ensure_watcher()

    def watch(self, workflow_id: str, run_id: str, listener: Callable[[], None], *,
              started_at: float | None = None) -> Callable[[], dict[str, Any] | None]:
        """Call ``listener()`` (from the watcher) once run ``run_id`` is known closed.

        Returns a function that reads the close event (``None`` while the run is open) and
        releases the watch; call it exactly once.
        """
        key = (workflow_id, run_id)
        entry = self._join(key, started_at)
        with self._lock:
            fire = entry.closed.is_set()
            if not fire:
                entry.listeners.append(listener)
        if fire:
            listener()
        released = False

        def finish() -> dict[str, Any] | None:
            nonlocal released
            try:
                return self._read(key, entry) if entry.closed.is_set() else None
            finally:
                if not released:
                    released = True
                    self._leave(key, entry)
        return finish

    def stop(self) -> None:
        """Stop the watcher (it ends after its current listing); waiting again restarts it."""
        with self._lock:
            self._closing = True
        self._joined.set()

    def _stop_at_exit(self) -> None:
        # Registered after connect() registered the embedded service's stop, so (atexit
        # runs last-in first-out) the watcher ends before the service it lists goes away:
        # otherwise its last listing fails and retries, noisily, while the program exits.
        watcher = self._watcher
        self.stop()
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(EXIT_JOIN)

    # ------------------------------------------------------------------ entries

    def _join(self, key: tuple[str, str], started_at: float | None) -> _Entry:
        with self._lock:
            entry = self._entries.get(key)
            fresh = entry is None
            if entry is None:
                entry = self._entries[key] = _Entry()
            entry.waiters += 1
            self._last_activity = time.monotonic()
            self._closing = False
            if fresh and key in self._seen:
                remembered = self._seen_events.get(key)
                if remembered is not None:
                    entry.event = remembered[0]
                entry.closed.set()
            covered = fresh and not entry.closed.is_set() and self._covered(started_at)
            self._ensure_watcher()
            self._joined.set()
        if fresh and not entry.closed.is_set() and not covered:
            self._check(key, entry)
        return entry

    def _leave(self, key: tuple[str, str], entry: _Entry) -> None:
        with self._lock:
            self._last_activity = time.monotonic()
            entry.waiters -= 1
            if entry.waiters <= 0 and self._entries.get(key) is entry:
                del self._entries[key]

    def _covered(self, started_at: float | None) -> bool:
        # A run started (by this client) after the watcher's first listing closes after it
        # too, so the watcher sees its close, or saw it (remembered for REMEMBER seconds).
        if started_at is None or self._coverage_since is None:
            return False
        return started_at >= self._coverage_since and started_at >= time.monotonic() - REMEMBER

    def _recheck_interval(self) -> float | None:
        return None if self.swf.greenflow_service else RECHECK_INTERVAL

    def _check(self, key: tuple[str, str], entry: _Entry) -> None:
        """One look at the run's newest event; marks the entry closed (with its event) if it is."""
        self.checks += 1
        event = self._last_event(key)
        if event is not None and event["eventType"] in CLOSE_EVENTS:
            entry.event = event
            self._mark_closed(entry)

    def _read(self, key: tuple[str, str], entry: _Entry) -> dict[str, Any]:
        with entry.lock:
            while entry.event is None:
                event = self._last_event(key)
                self.reads += 1
                if event is not None and event["eventType"] in CLOSE_EVENTS:
                    entry.event = event
                else:  # listed as closed before its history shows it (eventual consistency)
                    time.sleep(0.05)
            return entry.event

    def _last_event(self, key: tuple[str, str]) -> dict[str, Any] | None:
        answer = self.swf.call("GetWorkflowExecutionHistory", domain=self.domain,
                               execution={"workflowId": key[0], "runId": key[1]},
                               reverseOrder=True, maximumPageSize=1)
        events = answer.get("events") or []
        return events[0] if events else None

    def _mark_closed(self, entry: _Entry) -> None:
        with self._lock:
            listeners, entry.listeners = entry.listeners, []
            entry.closed.set()
        for listener in listeners:
            listener()

    # ------------------------------------------------------------------ the watcher

    def _ensure_watcher(self) -> None:
        # Called with self._lock held.
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name=f"greenflow-results-{self.domain}",
                                             daemon=True)
            self._watcher.start()
            atexit.unregister(self._stop_at_exit)  # once per waiter, however often restarted
            atexit.register(self._stop_at_exit)

    def _watch(self) -> None:
        try:
            newest = self._newest_close()
            with self._lock:
                self._coverage_since = time.monotonic()
            # The cursor: list closes at or after `oldest`; `counted` of them were listed
            # last time (None: unknown, so the next listing is not held).
            oldest, counted = max(0.0, newest - CURSOR_SLACK), None
            pause = FALLBACK_PAUSE
            while True:
                with self._lock:
                    if not self._entries and (self._closing or time.monotonic() - self._last_activity >= IDLE_LINGER):
                        self._stop_watching()
                        return
                try:
                    infos = self._list_since(oldest, counted, wait=bool(self._entries))
                except Exception as error:  # noqa: BLE001 - keep watching while anyone waits
                    with self._lock:
                        if not self._entries:  # nobody waits: stop rather than retry (service gone?)
                            self._stop_watching()
                            return
                    log.warning("result waiter: listing closed executions of %s failed: %s", self.domain, error)
                    time.sleep(ERROR_PAUSE)
                    continue
                new_oldest, new_counted = self._next_cursor(infos, oldest)
                if (new_oldest, new_counted) != (oldest, counted):
                    oldest, counted, pause = new_oldest, new_counted, FALLBACK_PAUSE
                elif self.swf.greenflow_service and self._entries:
                    # Nothing closed, yet the service did not hold the call: it predates
                    # CLOSE_WAIT_HEADER (or its hold timed out). Poll with a backoff then.
                    time.sleep(pause)
                    pause = min(pause * 2, FALLBACK_PAUSE_MAX)
        except BaseException as error:
            with self._lock:
                self._watcher = None
                self._coverage_since = None
            if not isinstance(error, Exception):
                raise  # GreenletExit, KeyboardInterrupt: not ours to swallow

    def _stop_watching(self) -> None:
        # Called with self._lock held.
        self._watcher = None
        self._coverage_since = None
        self._seen.clear()
        self._seen_events.clear()
        self._seen_events_size = 0

    def _next_cursor(self, infos: list[dict[str, Any]], oldest: float) -> tuple[float, int]:
        """The cursor after a listing of ``infos`` (all closed at or after ``oldest``).

        Locally: from a little before the newest close listed (timestamps lose a fraction
        of a microsecond through botocore's datetimes; CURSOR_SLACK covers it), with the
        number of listed closes from there on, which the service holds the next listing
        until it exceeds. A clock that stands still (virtual time in tests) gives many
        closes one timestamp: they are counted, not lost. On Amazon SWF the listing reads
        back VISIBILITY_LAG_REMOTE seconds from the newest close instead.
        """
        times = [_timestamp(info["closeTimestamp"]) for info in infos]
        if not times:
            return oldest, 0
        newest = max(times)
        if not self.swf.greenflow_service:
            return max(oldest, newest - VISIBILITY_LAG_REMOTE), len(times)
        new_oldest = max(oldest, newest - CURSOR_SLACK)
        return new_oldest, sum(1 for t in times if t >= new_oldest)

    def _newest_close(self) -> float:
        """The newest close time in the domain now (where the watcher's cursor starts)."""
        while True:
            try:
                answer = self.swf.call("ListClosedWorkflowExecutions", domain=self.domain,
                                       closeTimeFilter={"oldestDate": 0}, maximumPageSize=1)
                self.listings += 1
                infos = answer.get("executionInfos") or []
                return _timestamp(infos[0]["closeTimestamp"]) if infos else 0.0
            except Exception as error:  # noqa: BLE001
                if not self._entries:
                    raise  # nobody waits (the service may be gone): stop watching
                log.warning("result waiter: listing closed executions of %s failed: %s", self.domain, error)
                time.sleep(ERROR_PAUSE)

    def _list_since(self, oldest: float, counted: int | None, *, wait: bool) -> list[dict[str, Any]]:
        """All executions closed at or after ``oldest`` (every page); wakes their waiters.

        On a greenflow service, while someone waits, the first page is held until more than
        ``counted`` executions closed at or after ``oldest``.
        """
        local = bool(self.swf.greenflow_service)
        params: dict[str, Any] = {"domain": self.domain, "closeTimeFilter": {"oldestDate": oldest},
                                  "maximumPageSize": 1000}
        if not local:
            time.sleep(LIST_INTERVAL_REMOTE)
        elif not wait:
            # Idle: linger without holding a service call, until a waiter joins.
            self._joined.wait(min(1.0, IDLE_LINGER))
            self._joined.clear()
            wait = bool(self._entries)
        # Nobody waits: one attempt, so that a service gone meanwhile ends the watcher quietly
        # (see _watch) instead of being retried and logged about.
        call = self.swf.call if wait else self.swf.call_once
        infos: list[dict[str, Any]] = []
        token = None
        while True:
            page_params = dict(params, nextPageToken=token) if token else params
            hold = (CLOSE_WAIT_LOCAL, counted) if local and wait and counted is not None and token is None else None
            # On a greenflow service the listing also carries each run's close event (no read
            # per result), and is held while nothing closes.
            extensions = {CLOSE_EVENTS_HEADER: "1"} if local else {}
            if hold:
                extensions[CLOSE_WAIT_HEADER] = f"{min(hold[0], MAX_CLOSE_WAIT):g} {hold[1]}"
            with self.swf.headers(extensions) if extensions else contextlib.nullcontext():
                answer = call("ListClosedWorkflowExecutions", **page_params)
            self.listings += 1
            page = answer.get("executionInfos") or []
            infos.extend(page)
            self._resolve(page)
            token = answer.get("nextPageToken")
            if not token:
                return infos

    def _resolve(self, infos: list[dict[str, Any]]) -> None:
        """Wake the waiters of listed runs and remember the runs, for waiters who come later."""
        now = time.monotonic()
        woken: list[_Entry] = []
        with self._lock:
            for info in infos:
                execution = info["execution"]
                key = (execution["workflowId"], execution["runId"])
                entry = self._entries.get(key)
                waiting = entry is not None and not entry.closed.is_set()
                new = key not in self._seen
                if not (new or waiting):
                    continue  # listed again (the cursor's slack): nothing more to learn
                event = _close_event(self.swf, info)
                if new:
                    self._seen[key] = now
                    if event is not None:
                        self._remember_event(key, event)
                if waiting:
                    assert entry is not None
                    if event is not None and entry.event is None:
                        entry.event = event
                    woken.append(entry)
            # Forget closes seen long ago (insertion order is the order they were seen).
            horizon = now - REMEMBER
            while self._seen:
                first = next(iter(self._seen))
                if self._seen[first] >= horizon:
                    break
                del self._seen[first]
                self._forget_event(first)
        for entry in woken:
            self._mark_closed(entry)

    def _remember_event(self, key: tuple[str, str], event: dict[str, Any]) -> None:
        # Called with self._lock held. The size counts the event's text members (results,
        # reasons, details): the rest of an event is small and bounded.
        size = 200 + sum(len(value) for value in event_attributes(event).values() if isinstance(value, str))
        if self._seen_events_size + size <= REMEMBER_EVENTS_BUDGET:
            self._seen_events[key] = (event, size)
            self._seen_events_size += size

    def _forget_event(self, key: tuple[str, str]) -> None:
        # Called with self._lock held.
        remembered = self._seen_events.pop(key, None)
        if remembered is not None:
            self._seen_events_size -= remembered[1]


def _close_event(swf: Any, info: dict[str, Any]) -> dict[str, Any] | None:
    """The close event a greenflow service's listing carried for ``info``, as the history
    gives it (its timestamp a datetime), or ``None``."""
    event = info.get(CLOSE_EVENT_MEMBER)
    if not isinstance(event, dict) or event.get("eventType") not in CLOSE_EVENTS:
        return None
    return swf.shaped_as("GetWorkflowExecutionHistory", {"events": [event]})["events"][0]


def continued_run(event: dict[str, Any]) -> str | None:
    """The new run's ID if ``event`` closed its run by continue-as-new, else ``None``."""
    if event["eventType"] == "WorkflowExecutionContinuedAsNew":
        return str(event_attributes(event)["newExecutionRunId"])
    return None
