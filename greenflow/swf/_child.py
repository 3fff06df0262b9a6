"""The embedded local service in a child process owned by this one (``embedded="process"``).

Why a process: in thread mode the service shares this process's GIL with the workers and
the client, so every SWF call's server-side CPU competes with the botocore CPU of the
caller; on a 2-core machine a child process roughly doubles end-to-end throughput
(see ``benchmarks/bench_end_to_end.py``). It is still "a local service started in the
background of this process": started on first ``connect()``, private to this process,
and it never outlives it:

* at interpreter exit (``atexit``) the parent closes the child's stdin and waits for a
  clean stop (the service answers what is in flight, then closes the database);
* if the parent dies any other way (``kill -9``, a crash), the kernel closes the pipe, the
  child reads EOF on its stdin and stops the same way. Nothing acknowledged is lost either
  way: the service answers a request only after committing it.

Run as ``python -m greenflow.swf._child DB_PATH [POLL_TIMEOUT]``; it prints
``listening on URL`` once ready.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from typing import Any

log = logging.getLogger("greenflow.swf")

#: How long to wait for the child to say it listens (imports botocore's model, opens SQLite).
START_TIMEOUT = 60.0
#: How long a clean stop may take before the child is killed.
STOP_TIMEOUT = 15.0


class ChildService:
    """A :class:`greenflow.local.LocalService` running in a child process of this one.

    Same surface as ``LocalService`` for what :func:`greenflow.connect` needs
    (``db_path``, ``host``, ``endpoint``, ``running``, ``start()``, ``stop()``), plus ``pid``.
    ``advance_time``/``call`` are not available across processes: tests that need the
    core use the thread mode (``embedded="thread"``).
    """

    def __init__(self, db_path: str = ":memory:", host: str = "127.0.0.1", port: int = 0, *,
                 poll_timeout: float = 60.0):
        self.db_path = db_path
        self.host = host
        self.port = port
        self.poll_timeout = float(poll_timeout)
        self.endpoint: str | None = None
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<ChildService pid={self.pid} {self.endpoint or 'not started'} db={self.db_path!r}>"

    @property
    def pid(self) -> int | None:
        """The child's process id (``None`` before start)."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> "ChildService":
        """Start the child and return once it listens.

        Raises:
            RuntimeError: the child did not start (its stderr, inherited, says why).
        """
        if self._process is not None:
            raise RuntimeError("the embedded service process is already running")
        command = [sys.executable, "-m", "greenflow.swf._child", self.db_path, repr(self.poll_timeout),
                   str(self.port)]
        env = dict(os.environ)
        # The child must import the same greenflow as the parent, wherever it came from.
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        # stdin is the lifeline: the child stops when it reads EOF (the parent closed it or died).
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                         close_fds=True, start_new_session=True)
        assert self._process.stdout is not None  # stdout=PIPE
        line = self._process.stdout.readline().decode("utf-8", "replace")
        if not line.startswith("listening on "):
            self._kill()
            raise RuntimeError(f"the embedded greenflow service process did not start (said {line!r})")
        self.endpoint = line.split()[2]
        log.info("started the embedded greenflow SWF service process %d at %s (database %s)",
                 self._process.pid, self.endpoint, self.db_path)
        return self

    def stop(self) -> None:
        """Stop the child cleanly (in-flight requests answered, database closed); kill it if it hangs."""
        with self._lock:
            process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:  # stdin=PIPE
                process.stdin.close()  # EOF: the child's signal to stop
        except OSError:
            pass
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.warning("the embedded service process %d did not stop in %.0f s; killing it", process.pid,
                        STOP_TIMEOUT)
            process.kill()
            process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()

    def __enter__(self) -> "ChildService":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def _main(argv: list[str]) -> int:
    import gevent
    import gevent.os
    import gevent.socket

    from ..local import DatabaseInUseError, LocalService

    db_path = argv[0]
    poll_timeout = float(argv[1]) if len(argv) > 1 else 60.0
    port = int(argv[2]) if len(argv) > 2 else 0
    logging.basicConfig(level=logging.WARNING, format="greenflow service: %(levelname)s %(name)s: %(message)s")
    service = LocalService(db_path, "127.0.0.1", port, poll_timeout=poll_timeout)
    stdin = sys.stdin.fileno()

    def watch_parent() -> None:
        # EOF on stdin = the parent closed the pipe or died: stop cleanly.
        gevent.os.make_nonblocking(stdin)
        while True:
            gevent.socket.wait_read(stdin)
            try:
                data = os.read(stdin, 4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                service.stop()
                return

    def ready(started: LocalService) -> None:
        gevent.spawn(watch_parent)
        sys.stdout.write(f"listening on {started.endpoint}\n")
        sys.stdout.flush()

    # SIGINT/SIGTERM stop it cleanly too (a Ctrl-C in the parent's terminal reaches only the
    # parent: the child runs in its own session, and stops when the parent is gone).
    try:
        service.serve_forever(ready=ready)
    except DatabaseInUseError as error:
        # Not a crash: the parent reads this line, looks at the lock and attaches instead.
        sys.stdout.write(f"in use: {error}\n")
        sys.stdout.flush()
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
