"""The step watchdog: workflow code that runs too long without yielding is stopped with an error.

A *step* is one stretch of workflow code between two switches of the deterministic hub:
from the moment the hub resumes a workflow greenlet until it blocks again (on an
activity, a timer, a future...). Steps are short: workflow code only computes what to do
next. A step that lasts longer than its run's ``step_timeout`` (default
:data:`DEFAULT_STEP_TIMEOUT`; ``WorkflowWorker(step_timeout=None)`` turns it off, e.g. to
step through workflow code in a debugger) is a
bug the hub cannot see from inside: a CPU loop, or real blocking I/O that gevent does not
patch (``time.sleep`` in a program that is not monkey-patched, a C extension waiting on a
socket). gevent-level blocking is caught at once by the hub itself (``switch_out``).

A real OS thread (not a gevent one: a looping step holds gevent's hub too) checks the
running steps a few times per second. For a step over its limit it

1. records a :class:`~greenflow.errors.WorkflowBlockingError` naming the workflow code's
   current line on the run, so the decision task fails instead of being answered (as for
   non-determinism: SWF retries it after its timeout, by when the code may be fixed);
2. logs that error at once, so even a step stuck in C says where it is;
3. raises :class:`StepTimeout` asynchronously in the stuck thread, which unwinds the
   workflow code as soon as it runs Python bytecode again.

Time the stuck thread spent waiting for a CPU (on a machine overloaded by other processes)
is not counted against the step: the watchdog reads the thread's run-queue wait from
``/proc/self/task/TID/schedstat`` when the kernel provides it, so a step of short workflow
code starved of CPU is not mistaken for a loop. Real blocking I/O waits off the run queue,
so it still counts in full.

Fast path cost per step: two attribute writes and a clock read. The only lock is taken
when a step ended just as the watchdog fired (see :meth:`StepWatch.end`).
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import sys
import time
from typing import Any

from greenflow.errors import WorkflowBlockingError

log = logging.getLogger("greenflow.workflow")

#: greenflow's own source directory: frames in files under it are not workflow code.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: How long (real seconds) one step of workflow code may run before the watchdog stops it.
DEFAULT_STEP_TIMEOUT = 2.0
#: How often the watchdog looks (real seconds).
CHECK_INTERVAL = 0.2


def _original(module: str, name: str) -> Any:
    # The watchdog must be a real thread with a real lock even in a monkey-patched program.
    # Not patched yet (gevent.monkey not imported): the current functions are the originals,
    # and the references kept here stay the originals if the program patches later.
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None:
        return monkey.get_original(module, name)
    return getattr(importlib.import_module(module), name)


_start_new_thread = _original("_thread", "start_new_thread")
_allocate_lock = _original("_thread", "allocate_lock")
_get_ident = _original("_thread", "get_ident")
_get_native_id = _original("_thread", "get_native_id")
_sleep = _original("time", "sleep")
# PyThreadState_SetAsyncExc(thread_id, exception class) schedules the exception in that
# thread; with NULL it withdraws one not delivered yet. Two prototypes: py_object cannot be NULL.
_raise_async = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi))
_withdraw_async = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi))


class StepTimeout(BaseException):
    """Raised asynchronously in workflow code that overran its step (a ``BaseException``,
    so that ``except Exception`` in workflow code does not swallow it)."""


class StepWatch:
    """The step running in one OS thread (at most one at a time: steps never interleave)."""

    __slots__ = ("thread_id", "native_id", "token", "active", "started", "run", "fired", "lock",
                 "seen", "waited_before")

    def __init__(self, thread_id: int, native_id: int = 0):
        self.thread_id = thread_id
        self.native_id = native_id
        # Set by the watchdog thread only: the step it last saw, and the thread's run-queue
        # wait (seconds) when it first saw that step.
        self.seen = -1
        self.waited_before = 0.0
        self.token = 0
        self.active = False
        self.started = 0.0
        self.run: Any = None
        self.fired = -1
        self.lock = _allocate_lock()

    def begin(self, run: Any) -> None:
        """A workflow greenlet of ``run`` is about to be resumed."""
        self.token += 1
        self.run = run
        self.started = time.monotonic()
        self.active = True

    def end(self) -> None:
        """The step is over (the greenlet blocked or finished).

        Idempotent. ``active`` is cleared before ``fired`` is read, and the watchdog sets
        ``fired`` before it re-reads ``active`` (under the lock, together with raising): so
        either it saw the step over and raises nothing, or this sees ``fired`` and, after
        the lock, withdraws an exception not delivered yet.
        """
        self.active = False
        if self.fired == self.token:
            with self.lock:
                _withdraw_async(self.thread_id, None)  # if still pending
        self.run = None


class _Watchdog:
    def __init__(self) -> None:
        self.watches: dict[int, StepWatch] = {}
        self.lock = _allocate_lock()
        self.started = False

    def watch(self) -> StepWatch:
        thread_id = _get_ident()
        watch = self.watches.get(thread_id)
        if watch is None:
            with self.lock:
                watch = self.watches.setdefault(thread_id, StepWatch(thread_id, _get_native_id()))
                if not self.started:
                    self.started = True
                    _start_new_thread(self._loop, ())
        return watch

    def _loop(self) -> None:
        while True:
            _sleep(CHECK_INTERVAL)
            try:
                self.check()
            except Exception:  # the watchdog must outlive anything odd it meets
                log.exception("the workflow step watchdog failed a check")

    def check(self) -> None:
        now = time.monotonic()
        for watch in list(self.watches.values()):
            token, run = watch.token, watch.run
            if not watch.active or run is None or watch.fired == token:
                continue
            limit = run.step_timeout  # None or 0: not watched (a debugger session)
            if not limit:
                continue
            waited = runqueue_wait(watch.native_id)
            if watch.seen != token:  # first look at this step: its starvation so far counts
                watch.seen, watch.waited_before = token, waited
            ran = now - watch.started - (waited - watch.waited_before)
            if ran <= limit:
                continue
            error = WorkflowBlockingError(
                f"GF-STEP-TIMEOUT: workflow code ran {ran:.1f} s without yielding "
                f"(limit {limit:g} s) at {_user_location(watch.thread_id)}: a CPU-bound loop, or blocking "
                "I/O that gevent does not patch. Workflow code must only decide what to do next: move "
                "slow work into an activity. The decision task is not answered.")
            with watch.lock:
                watch.fired = token
                if not (watch.active and watch.token == token):
                    continue  # the step ended meanwhile: nothing to stop
                run.fatal(error)
                _raise_async(watch.thread_id, StepTimeout)
            log.error("%s (workflow %s)", error, getattr(run, "workflow_id", "?"))


def runqueue_wait(native_id: int) -> float:
    """Seconds the OS thread ``native_id`` of this process has spent runnable but waiting
    for a CPU, from the kernel's schedstat (0.0 where the kernel does not provide it)."""
    try:
        with open(f"/proc/self/task/{native_id}/schedstat", "rb") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _user_location(thread_id: int) -> str:
    """``file:line in function()`` of the innermost frame of ``thread_id`` outside greenflow."""
    frame = sys._current_frames().get(thread_id)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(PACKAGE_DIR):
            return f"{filename}:{frame.f_lineno} in {frame.f_code.co_name}()"
        frame = frame.f_back
    return "<unknown>"


_watchdog = _Watchdog()


def current_watch() -> StepWatch:
    """The :class:`StepWatch` of the calling OS thread (the watchdog starts on first use)."""
    return _watchdog.watch()
