"""Running the local SWF service: in-process for tests and embedding, or in the foreground.

:class:`LocalService` owns one service: its gevent hub, its HTTP server and its core
(:class:`~._operations.Operations` on a :class:`~.storage._store.Store`). ``start()`` runs all of it in
a real OS thread with its own hub, whether or not the caller monkey-patched; so a test
or a program can talk to it with any client (botocore, threads, greenlets) while
everything in the service stays on its own single hub thread. ``serve_forever()`` runs
it in the calling thread instead (the ``greenflow server`` command).

Example::

    with LocalService() as service:          # an ephemeral loopback port
        swf = botocore.session.get_session().create_client(
            "swf", region_name="us-east-1", endpoint_url=service.endpoint,
            aws_access_key_id="x", aws_secret_access_key="x")
        swf.register_domain(name="d", workflowExecutionRetentionPeriodInDays="1")
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import gevent
from gevent import monkey
from gevent.event import Event
from gevent.pool import Pool
from gevent.server import StreamServer

from .storage._lock import DatabaseLock
from .wire._connections import IDLE_TIMEOUT, REQUEST_TIMEOUT, ConnectionLimits
from .wire._emulation import AWSEmulation
from .wire._http import OperationHandler, SWFProtocolHandler
from .wire._sigv4 import SigV4Verifier

log = logging.getLogger("greenflow.local")

# Real OS threads and locks even when the caller monkey-patched (gevent would turn them
# into greenlets of the caller's hub, which is exactly what the service must not share).
_start_new_thread = monkey.get_original("_thread", "start_new_thread")
_allocate_lock = monkey.get_original("_thread", "allocate_lock")
_get_ident = monkey.get_original("_thread", "get_ident")

#: How long ``stop()`` lets requests in flight finish before closing their connections.
STOP_GRACE_SECONDS = 5.0
#: The credentials the AWS-like mode checks signatures against unless given others: the
#: dummy pair greenflow's clients sign with for a local endpoint.
EMULATION_CREDENTIALS = {"greenflow": "greenflow"}
#: How many times fewer young garbage collections a process serving the service makes.
GC_YOUNG_FACTOR = 10


def load_credentials(source: Mapping[str, str] | str | os.PathLike) -> dict[str, str]:
    """Credentials for SigV4 verification: access key id → secret access key.

    Args:
        source: a mapping, or the path of a file holding either a JSON object
            ``{"KEYID": "SECRET", ...}`` or lines ``KEYID SECRET`` / ``KEYID=SECRET``
            (blank lines and ``#`` comments ignored).

    Raises:
        ValueError: the file or mapping is malformed or empty.
        OSError: the file cannot be read.
    """
    if isinstance(source, Mapping):
        credentials = dict(source)
        origin = "credentials"
    else:
        origin = os.fspath(source)
        with open(origin, encoding="utf-8") as file:
            text = file.read()
        credentials = _parse_credentials(text, origin)
    if not credentials:
        raise ValueError(f"{origin}: no credentials (expected access key id → secret)")
    for key_id, secret in credentials.items():
        if not isinstance(key_id, str) or not isinstance(secret, str) or not key_id or not secret:
            raise ValueError(f"{origin}: each access key id and secret must be a non-empty string")
    return credentials


def _parse_credentials(text: str, origin: str) -> dict[str, str]:
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ValueError(f"{origin}: not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{origin}: expected a JSON object mapping access key ids to secrets")
        return data
    credentials = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key_id, sep, secret = line.partition("=")
        if not sep:
            fields = line.split()
            if len(fields) != 2:
                raise ValueError(f"{origin}:{number}: expected 'KEYID SECRET' or 'KEYID=SECRET'")
            key_id, secret = fields
        credentials[key_id.strip()] = secret.strip()
    return credentials


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only reaches this machine."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


@contextlib.contextmanager
def _tuned_gc(enabled: bool) -> Iterator[None]:
    """Collect garbage less often while the block runs, then restore the collector's settings.

    Requests allocate many short-lived containers, which trigger a young collection every
    few requests; and every full collection would walk the objects loaded at start-up
    (botocore's service model, the open runs), which never become garbage. So young
    collections come :data:`GC_YOUNG_FACTOR` times less often, and the caller freezes what
    start-up loaded (``gc.freeze()``) once the service is ready; it is unfrozen at the end.
    """
    if not enabled:
        yield
        return
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0] * GC_YOUNG_FACTOR, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class LocalService:
    """The local SWF service, on one loopback port.

    Args:
        db_path: the SQLite database (``":memory:"``: a throw-away one).
        host: the address to listen on; loopback by default. Any other address needs
            ``credentials``, so that only signed requests are served.
        port: the TCP port; 0 picks a free one (see :attr:`endpoint`).
        clock: where SWF time comes from (a ``VirtualClock`` in tests); the wall clock
            by default.
        poll_timeout: how long a long poll waits for a task, in seconds (SWF: 60).
        credentials: access key id → secret, or a file of them (see
            :func:`load_credentials`); when given, every request must be SigV4-signed
            with one of them.
        synchronous: SQLite's ``synchronous`` pragma (``"FULL"`` also survives power loss).
        request_timeout: seconds a client has to send a whole request once it started one
            (the header-read timeout; see :mod:`.wire._connections`). Never cuts a long poll.
        idle_timeout: seconds a keep-alive connection may wait for its next request.
        max_connections: the most connections open at once (reaching it is logged, and
            the connection idle the longest is closed); ``None``: derived from the
            process's open-file limit.
        core_factory: for tests of the HTTP layer: builds the core answering requests
            (anything with ``handle(operation, params)``) instead of ``Operations``. It is
            called in the service's thread.
        emulation: the AWS-like mode (see :mod:`.wire._emulation`): latency, SWF's throttling
            and server errors on every call. It requires SigV4: without ``credentials``,
            requests must be signed with :data:`EMULATION_CREDENTIALS`.

    Raises:
        ValueError: bad options, or a non-loopback ``host`` without credentials.
    """

    def __init__(
        self,
        db_path: str | os.PathLike = ":memory:",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Any = None,
        poll_timeout: float = 60.0,
        credentials: Mapping[str, str] | str | os.PathLike | None = None,
        synchronous: str = "NORMAL",
        request_timeout: float = REQUEST_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int | None = None,
        core_factory: Callable[[], OperationHandler] | None = None,
        emulation: AWSEmulation | None = None,
    ):
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer from 0 to 65535, not {port!r}")
        if isinstance(poll_timeout, bool) or not isinstance(poll_timeout, (int, float)) or not poll_timeout > 0:
            raise ValueError(f"poll_timeout must be a positive number of seconds, not {poll_timeout!r}")
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.db_path = os.fspath(db_path)
        self.host = host
        self.clock = clock
        self.poll_timeout = float(poll_timeout)
        self.synchronous = synchronous
        self.limits = ConnectionLimits(request_timeout, idle_timeout, max_connections)
        self.credentials = load_credentials(credentials) if credentials is not None else None
        self.emulation = emulation
        if emulation is not None and self.credentials is None:
            self.credentials = dict(EMULATION_CREDENTIALS)  # SigV4 is part of behaving like AWS
        if self.credentials is None and not is_loopback(host):
            raise ValueError(
                f"refusing to listen on {host!r}, which is not a loopback address, without credentials: "
                "anyone who can reach it could run workflows. Configure credentials "
                "(credentials=... or --credentials FILE) so that every request must be signed, "
                "or listen on 127.0.0.1."
            )
        self._requested_port = port
        self._core_factory = core_factory
        self._port: int | None = None
        self._hub: Any = None
        self._thread_id: int | None = None
        self._stop_event: Event | None = None
        self._running = False
        self._stop_requested = False
        self._done: Any = None  # a real lock (the original _thread's), held while the service thread runs
        self.core: OperationHandler | None = None

    # ------------------------------------------------------------------ where

    @property
    def port(self) -> int:
        """The TCP port the service listens on (known once started)."""
        if self._port is None:
            raise RuntimeError("the service is not started")
        return self._port

    @property
    def endpoint(self) -> str:
        """The URL clients use: ``"http://127.0.0.1:PORT"``."""
        host = self.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host.strip('[]')}]"
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the service is listening."""
        return self._running

    # ------------------------------------------------------------------ run

    def start(self) -> LocalService:
        """Start the service in a new OS thread; returns once it is listening.

        Raises:
            RuntimeError: it is already running.
            OSError: the address cannot be bound; other errors building the service.
        """
        if self._done is not None:
            raise RuntimeError("the local SWF service is already running")
        ready = _allocate_lock()
        ready.acquire()
        outcome: list[BaseException | None] = []

        def on_ready(error: BaseException | None) -> None:
            outcome.append(error)
            ready.release()

        self._stop_requested = False
        self._done = _allocate_lock()
        self._done.acquire()
        _start_new_thread(self._thread_main, (on_ready,))
        ready.acquire()
        if outcome[0] is not None:
            self._wait_done()
            raise outcome[0]
        return self

    def serve_forever(self, *, ready: Callable[[LocalService], None] | None = None,
                      handle_signals: bool = True, tune_gc: bool = True) -> None:
        """Run the service in the calling thread until :meth:`stop` (or SIGTERM/SIGINT).

        Args:
            ready: called once the service listens (the CLI prints the endpoint).
            handle_signals: in the main thread, stop cleanly on SIGTERM and SIGINT.
            tune_gc: while serving, tune the process's garbage collector for the service
                (see :func:`_tuned_gc`); meant for a process that runs the service only.
        """
        if self._done is not None:
            raise RuntimeError("the local SWF service is already running")
        self._stop_requested = False
        self._done = _allocate_lock()
        self._done.acquire()
        failure: list[BaseException] = []

        def on_ready(error: BaseException | None) -> None:
            if error is not None:
                failure.append(error)
                return
            if tune_gc:
                gc.freeze()  # what start-up loaded stays for good: no collection walks it again
            if ready is not None:
                ready(self)

        watchers = []
        previous = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.getsignal(signum)
                watchers.append(gevent.signal_handler(signum, self._request_stop))
        try:
            with _tuned_gc(tune_gc):
                self._serve(on_ready, own_hub=False)
        finally:
            for watcher in watchers:
                watcher.cancel()
            # Give the program back the handlers it had (the event loop's would linger).
            for signum, handler in previous.items():
                if handler is not None:
                    signal.signal(signum, handler)
            self._done = None
        if failure:
            raise failure[0]

    def stop(self) -> None:
        """Stop the service: stop listening, answer waiting polls with empty tasks, let
        requests in flight finish (up to a few seconds), close the database.

        Returns once everything is closed; calling it again does nothing.
        """
        if self._done is None:
            return
        # Seen by a service still starting up (it checks once it is ready).
        self._stop_requested = True
        if _get_ident() == self._thread_id:
            # Called from inside the service (a signal handler, a test greenlet): we can
            # only ask; serve_forever() returns once the shutdown completed.
            self._request_stop()
            return
        hub = self._hub
        if hub is not None and self._running:
            try:
                hub.loop.run_callback_threadsafe(self._request_stop)
            except Exception:  # the loop is already gone: the thread is finishing anyway
                pass
        self._wait_done()

    def advance_time(self, seconds: float) -> None:
        """Move the service's virtual clock forward and fire every timer and timeout now
        due; returns once all of it is committed. Safe to call from any thread.

        Raises:
            RuntimeError: the service is not running.
        """
        self.call(lambda core: core.advance_time(seconds))

    def call(self, function: Callable[[Any], Any]) -> Any:
        """Run ``function(core)`` in the service's hub thread and return its result
        (or raise its exception); for tests and tools that need the core directly.

        The core is an :class:`~._operations.Operations` (or what ``core_factory`` built).
        """
        if not self._running or self._hub is None:
            raise RuntimeError("the local SWF service is not running")
        if _get_ident() == self._thread_id:
            return function(self.core)
        done = _allocate_lock()
        done.acquire()
        box: dict[str, Any] = {}

        def task() -> None:
            try:
                box["result"] = function(self.core)
            except BaseException as error:  # handed over to the calling thread
                box["error"] = error
            finally:
                done.release()

        self._hub.loop.run_callback_threadsafe(gevent.spawn, task)
        while not done.acquire(timeout=0.05):
            if not self._running:
                raise RuntimeError("the local SWF service stopped before answering")
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def __enter__(self) -> LocalService:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.endpoint if self._port is not None else "not started"
        return f"<LocalService {where} db={self.db_path!r}>"

    # ------------------------------------------------------------------ inside the service thread

    def _thread_main(self, on_ready: Callable[[BaseException | None], None]) -> None:
        self._serve(on_ready, own_hub=True)

    def _request_stop(self) -> None:
        self._stop_requested = True
        if self._stop_event is not None:
            self._stop_event.set()

    def _wait_done(self) -> None:
        done = self._done
        if done is None:
            return
        done.acquire()
        done.release()
        self._done = None

    def _serve(self, on_ready: Callable[[BaseException | None], None], *, own_hub: bool) -> None:
        hub = gevent.get_hub()
        self._thread_id = _get_ident()
        self._stop_event = Event()
        server = handler = core = db_lock = None
        reported = False
        try:
            try:
                db_lock = self._lock_database()
                core = self._build_core()
                verifier = SigV4Verifier(self.credentials) if self.credentials else None
                handler = SWFProtocolHandler(core, verifier=verifier, limits=self.limits,
                                              emulation=self.emulation)
                # At the cap the server stops accepting until a connection closes (the
                # handler closes an idle one as the cap is reached).
                server = StreamServer((self.host, self._requested_port), handler,
                                      spawn=Pool(handler.connections.cap))
                server.start()
                self._port = server.address[1]
                if db_lock is not None:
                    db_lock.publish(self.endpoint)
                start = getattr(core, "start", None)
                if start is not None:
                    start()
            except BaseException as error:
                reported = True
                on_ready(error)
                return
            self.core = core
            self._hub = hub
            self._running = True
            log.info("local SWF service listening on %s (database %s)", self.endpoint, self.db_path)
            reported = True
            on_ready(None)
            if self._stop_requested:
                self._stop_event.set()
            self._stop_event.wait()
        finally:
            try:
                self._shutdown(server, handler, core)
            finally:
                if db_lock is not None:
                    db_lock.release()  # only once the database is closed
                self._running = False
                self._hub = None
                self.core = None
                self._thread_id = None
                self._stop_event = None
                if not reported:
                    on_ready(RuntimeError("the local SWF service failed to start"))
                if own_hub:
                    hub.destroy(destroy_loop=True)
                self._done.release()

    def _lock_database(self) -> DatabaseLock | None:
        """Take the database file's lock (see :mod:`.storage._lock`); ``None`` for a private database."""
        if self._core_factory is not None or self.db_path in ("", ":memory:") or self.db_path.startswith("file:"):
            return None
        db_lock = DatabaseLock(os.path.abspath(self.db_path))
        db_lock.acquire()
        return db_lock

    def _build_core(self) -> OperationHandler:
        if self._core_factory is not None:
            return self._core_factory()
        # Imported here so the HTTP layer can be used (and tested) on its own.
        from ._operations import Operations
        from .storage._store import Store

        store = Store(self.db_path, synchronous=self.synchronous)
        try:
            operations = Operations(store, self.clock, poll_timeout=self.poll_timeout)
        except BaseException:
            store.close()
            raise
        if self.emulation is not None:
            operations.engine.core.admit_decision = self.emulation.admit_decision  # SWF's decision quotas
        return operations

    @staticmethod
    def _shutdown(server: StreamServer | None, handler: SWFProtocolHandler | None, core: Any) -> None:
        """Stop in an order that loses nothing: no new connections, wake the long polls
        (they answer empty tasks), let requests in flight finish, drop idle keep-alive
        connections, and only then close the database."""
        if handler is not None:
            handler.stopping = True
        if server is not None:
            server.close()
        try:
            if core is not None:
                # Operations.stop() wakes polls but keeps the store open for requests in flight.
                stop = getattr(core, "stop", None)
                if stop is not None:
                    stop()
            if handler is not None and not handler.wait_idle(STOP_GRACE_SECONDS):
                log.warning("closing %d request(s) still running after %.0f s", handler.active_requests,
                            STOP_GRACE_SECONDS)
            if server is not None:
                server.stop(timeout=0)  # kills the connection greenlets that are left
        finally:
            close = getattr(core, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("closing the local SWF service failed")
