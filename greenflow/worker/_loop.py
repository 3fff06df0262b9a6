"""What both workers share: settings, registration, the lifecycle, signals and outage backoff.

A worker is started, polls one task list until asked to stop, and stops gracefully. The
pieces every worker needs are written once here:

* **settings and names**: ``client`` (taken by the constructor, kept as :attr:`swf`, an
  :class:`~greenflow.swf.SWFClient`), ``domain``, ``task_list``, ``identity`` (default
  ``host:pid``), ``register`` (a flag: register the domain and types on start; the method
  that does it is :meth:`register_types`), ``retention_days``, ``shutdown_timeout``;
* **the lifecycle**: :meth:`start` (register, then poll in the background), :meth:`stop`
  (graceful, bounded by ``timeout``), :meth:`run` (blocks until SIGINT/SIGTERM or
  :meth:`stop`), :meth:`wait`, ``with worker:``;
* **signals**: the first SIGINT/SIGTERM stops gracefully, a second one interrupts at once
  (:func:`stop_signals`, also used by :class:`~greenflow.worker.Worker`);
* **outages**: an SWF call that fails because the service is unreachable or throttling is
  retried with the backoff of :data:`OUTAGE_RETRY`, logged once when the outage starts and
  once when it ends (:class:`OutageBackoff`); whether an error is one is decided by
  :func:`greenflow.swf.is_retryable`, the same test the SWF edge retries on.

``shutdown_timeout`` (both workers, default 70 s): how long a graceful stop (``stop()``,
leaving ``with``, the first signal) waits for open polls and running tasks before it
interrupts them; ``None`` waits as long as they take. 70 s is one SWF long poll (60 s)
and some: a task handed to an open poll at the last moment is still run and answered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal as signal_module
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Self, TypeVar

import gevent
import gevent.event

from ..errors import SWFError
from ..swf import as_client, is_patched
from ..swf._retry import CallRetryPolicy, is_retryable

log = logging.getLogger("greenflow.worker")

T = TypeVar("T")

#: Default ``shutdown_timeout`` of both workers, in seconds (see the module docstring).
DEFAULT_SHUTDOWN_TIMEOUT = 70.0
#: Retention of a domain a worker registers, in days.
DEFAULT_RETENTION_DAYS = 30
#: How a worker waits between attempts while SWF is unreachable or throttling: retried for
#: as long as the worker runs, 0.1 s growing to 10 s (jittered). Each attempt is one
#: :meth:`SWFClient.call <greenflow.swf.SWFClient.call>`, which has already retried per
#: the client's own :class:`~greenflow.swf.CallRetryPolicy`.
OUTAGE_RETRY = CallRetryPolicy(max_attempts=None, base=0.1, cap=10.0)


def default_identity() -> str:
    """A worker's identity in history when none is given: ``host:pid`` (at most 256 characters)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:256]


class OutageBackoff:
    """Consecutive failures of one loop's SWF calls: the next delay, logged once per outage."""

    def __init__(self, what: str, policy: CallRetryPolicy = OUTAGE_RETRY):
        self.what = what
        self.policy = policy
        self.failures = 0

    def failed(self, error: BaseException) -> float:
        """Record a failure; return how long to wait before the next attempt, in seconds.

        An outage (see :func:`~greenflow.swf.is_retryable`) is logged as a warning when it
        starts; any other error is logged every time, with its traceback unless it is an
        SWF fault.
        """
        self.failures += 1
        if isinstance(error, SWFError) and is_retryable(error):
            if self.failures == 1:
                log.warning("%s: the SWF service is not answering (%s: %s); retrying with backoff",
                            self.what, type(error).__name__, error)
            else:
                log.debug("%s: still failing (%s)", self.what, error)
        elif isinstance(error, SWFError):
            log.error("%s failed: %s", self.what, error)
        else:
            log.error("%s failed", self.what, exc_info=error)
        return self.policy.delay(self.failures)

    def succeeded(self) -> None:
        """Record a success (ends an outage, logged if there was one)."""
        if self.failures:
            log.warning("%s: the SWF service answers again after %d failed attempts", self.what, self.failures)
        self.failures = 0


@contextlib.contextmanager
def stop_signals(first: Callable[[], None], second: Callable[[], None], *, cooperative: bool) -> Iterator[None]:
    """While inside, the first SIGINT/SIGTERM calls ``first()`` and any later one ``second()``.

    ``cooperative``: install them with gevent (the callbacks run in gevent's hub, where
    switching greenlets is safe; the caller must wait cooperatively), else with
    :func:`signal.signal`. Where they cannot be installed (outside the main thread),
    nothing is: the program handles its own signals there.
    """
    received = 0

    def on_signal(signum: int) -> None:
        nonlocal received
        received += 1
        log.info("%s received", signal_module.Signals(signum).name)
        (first if received == 1 else second)()

    signums = (signal_module.SIGINT, signal_module.SIGTERM)
    if cooperative:
        watchers = []
        for signum in signums:
            with contextlib.suppress(ValueError, OSError):  # not the main thread: the program's business
                watchers.append(gevent.signal_handler(signum, on_signal, signum))
        try:
            yield
        finally:
            for watcher in watchers:
                watcher.cancel()
        return
    previous = {}
    for signum in signums:
        with contextlib.suppress(ValueError, OSError):  # not the main thread: the program's business
            previous[signum] = signal_module.signal(signum, lambda signum, frame: on_signal(signum))
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal_module.signal(signum, old)


class PollingWorker:
    """The lifecycle and settings both workers share (see the module docstring).

    A subclass provides :meth:`register_types`, :meth:`_start_polling` (spawn the pollers)
    and :meth:`_stop_polling` (stop them and what they started, by a deadline), and sets
    :attr:`_cooperative` (whether its pollers are greenlets in this thread).
    """

    #: What the worker is called in logs ("workflow worker", "activity worker").
    kind = "worker"
    #: Whether pollers are greenlets of this thread (waits and signals must then be gevent's).
    _cooperative = True

    def __init__(self, client: Any, domain: str, task_list: str, *, identity: str | None, register: bool,
                 retention_days: int, shutdown_timeout: float | None):
        if not domain or not isinstance(domain, str):
            raise ValueError(f"domain must be a non-empty string, not {domain!r}")
        if not task_list or not isinstance(task_list, str):
            raise ValueError(f"task_list must be a non-empty string, not {task_list!r}")
        if shutdown_timeout is not None and (not isinstance(shutdown_timeout, (int, float))
                                             or isinstance(shutdown_timeout, bool) or not shutdown_timeout >= 0):
            raise ValueError(f"shutdown_timeout must be >= 0 seconds or None, not {shutdown_timeout!r}")
        #: The :class:`~greenflow.swf.SWFClient` the worker calls SWF with.
        self.swf = as_client(client)
        self.domain = domain
        self.task_list = task_list
        self.identity = (identity or default_identity())[:256]
        #: Whether :meth:`start` registers the domain and types.
        self.register = register
        self.retention_days = retention_days
        self.shutdown_timeout = None if shutdown_timeout is None else float(shutdown_timeout)
        self._stop_requested = self._event()  # run() returns: a signal or stop() asked
        self._stopping = self._event()  # no new polls; loops end
        self._hurry = self._event()  # a stop in progress should interrupt now
        self._stopped = self._event()
        self._stopped.set()
        self._stop_started = False
        self._registered = False
        self._exit_stack: contextlib.ExitStack | None = None

    # ---------------------------------------------------------------- for subclasses

    def register_types(self) -> None:
        """Register the domain (if missing) and the worker's types (already registered is fine)."""
        raise NotImplementedError

    def _start_polling(self) -> None:
        raise NotImplementedError

    def _stop_polling(self, deadline: float | None, interrupt_polls: bool) -> None:
        raise NotImplementedError

    # ---------------------------------------------------------------- lifecycle

    @property
    def running(self) -> bool:
        """Whether the worker is polling (between :meth:`start` and the end of :meth:`stop`)."""
        return not self._stopped.is_set()

    def _event(self) -> Any:
        """A new event: gevent's for greenlet pollers in an unpatched process, else threading's.

        (Once gevent has patched the process, threading's is cooperative.)
        """
        if self._cooperative and not is_patched():
            return gevent.event.Event()
        return threading.Event()

    def start(self) -> Self:
        """Register (unless ``register=False``) and start polling in the background; returns self.

        Blocks only while registering, which is retried through outages.
        """
        if self.running:
            raise RuntimeError(f"{self!r} is already running")
        self._stop_requested.clear()
        self._stopping.clear()
        self._hurry.clear()
        self._stop_started = False
        if self.register and not self._registered:
            self.retrying("registering types", self.register_types)
            self._registered = True
        self._stopped.clear()
        self._start_polling()
        return self

    def stop(self, timeout: float | None = None, *, interrupt_polls: bool = False) -> None:
        """Stop gracefully; returns once the worker has stopped. Safe to call more than once.

        No new poll starts. A long poll still open may yet receive a task, which is run and
        answered like any other, so nothing SWF hands over is dropped; tasks being worked on
        finish and are answered. All of this is bounded by ``timeout`` seconds (default
        ``shutdown_timeout``; ``None`` there: as long as it takes); then what still runs is
        interrupted. ``stop(0)`` interrupts at once.

        Open polls are interrupted at once when the service withdraws abandoned polls (a
        greenflow local service: ``swf.cancels_polls_safely``), or with
        ``interrupt_polls`` (what leaving ``with worker:`` does for a workflow worker); on
        Amazon SWF a poll interrupted this way may have been handed a task, which SWF gives
        out again after its timeout: delayed, not lost.
        """
        if timeout is None:
            timeout = self.shutdown_timeout
        self._stop_requested.set()
        self._stopping.set()
        if self._stopped.is_set():
            return
        if self._stop_started:
            # Another stop is in progress: hurry it if asked to, and wait for it.
            if timeout == 0:
                self._hurry.set()
            self._stopped.wait()
            return
        self._stop_started = True
        if timeout == 0:
            self._hurry.set()
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        try:
            self._stop_polling(deadline, interrupt_polls or self.swf.cancels_polls_safely)
        finally:
            self._stopped.set()
        log.info("%s %s stopped", self.kind, self.identity)

    def _join_until(self, greenlets: Callable[[], list[Any]], deadline: float | None) -> None:
        """Wait until every greenlet ``greenlets()`` lists (asked again as they finish) is done,
        or ``deadline`` passes, or a second stop asks to hurry."""
        while True:
            alive = [g for g in greenlets() if not g.dead]
            remaining = self._remaining(deadline)
            if not alive or remaining == 0:
                return
            gevent.joinall(alive, timeout=0.2 if remaining is None else min(0.2, remaining), count=1)

    def _remaining(self, deadline: float | None) -> float | None:
        """Seconds left until ``deadline`` (0 once a second stop asked to hurry)."""
        if self._hurry.is_set():
            return 0.0
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    def run(self) -> None:
        """Start and block until :meth:`stop`, SIGINT or SIGTERM; then stop gracefully.

        A second signal interrupts what still runs.
        """
        if not self.running:
            self.start()
        with stop_signals(self._stop_requested.set, self._hurry.set, cooperative=self._cooperative):
            try:
                while not self._stop_requested.is_set():
                    self._stop_requested.wait(0.2)
            except KeyboardInterrupt:
                log.info("%s: interrupted", self.kind)
            finally:
                self.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker has stopped (or ``timeout`` seconds); returns whether it has."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> Self:
        """Start in the background; leaving the block stops the worker (see :meth:`stop`)."""
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        """Stop gracefully (see :meth:`stop`)."""
        self.stop()

    # ---------------------------------------------------------------- calls

    def retrying(self, what: str, call: Callable[[], T], *, while_stopping: bool = False) -> T:
        """``call()``, retried with :class:`OutageBackoff` while SWF is unreachable or throttling.

        Other errors are raised. Gives up (raising the last error) once the worker is
        stopping, unless ``while_stopping`` (an answer to a task must get through).
        """
        backoff = OutageBackoff(f"{self.kind} {self.domain}/{self.task_list} ({what})")
        while True:
            try:
                value = call()
            except SWFError as error:
                if not is_retryable(error) or (self._stopping.is_set() and not while_stopping):
                    raise
                delay = backoff.failed(error)
                if while_stopping:
                    self._sleep(delay)
                else:
                    self._stopping.wait(delay)
                continue
            backoff.succeeded()
            return value

    def _sleep(self, seconds: float) -> None:
        if self._cooperative:
            gevent.sleep(seconds)
        else:
            time.sleep(seconds)

    @staticmethod
    def gevent_patched() -> bool:
        """Whether gevent has monkey-patched this process (then blocking calls are cooperative)."""
        return is_patched()
