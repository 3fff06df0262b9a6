"""``greenflow worker --processes N``: N worker processes against one service.

One Python process runs workflow code and activities on one core (the GIL). On a machine
with more cores, N processes each poll the same task lists, and the service hands each
task to one of them. This parent starts the children (``greenflow worker`` with the same
arguments, on one endpoint), forwards SIGINT/SIGTERM to them, and exits when all have.

Without an endpoint, the parent connects first (the embedded service of the default
database, which it owns, or the one another program already runs on it) and gives the
children its endpoint, so all N share one service.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from ._common import UsageError


def strip_processes(argv: list[str]) -> list[str]:
    """``argv`` without its ``--processes N`` / ``--processes=N`` option."""
    out: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
            continue
        if item == "--processes":
            skip = True
            continue
        if item.startswith("--processes="):
            continue
        out.append(item)
    return out


def run_processes(count: int, argv: list[str], endpoint: str | None, keep: Any = None) -> int:
    """Run ``count`` ``greenflow worker`` children with ``argv`` (and ``--endpoint``); their exit status.

    ``keep`` is held until the children have exited (e.g. the embedded service they use).
    """
    if count < 1:
        raise UsageError(f"--processes must be at least 1, not {count}")
    command = [sys.executable, "-m", "greenflow", "worker", *strip_processes(argv)]
    if endpoint is not None and "--endpoint" not in command:
        command += ["--endpoint", endpoint]
    children = [subprocess.Popen(command) for _ in range(count)]
    print(f"greenflow worker: {count} worker processes ({', '.join(str(c.pid) for c in children)})"
          + (f" on {endpoint}" if endpoint else ""), flush=True)

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        statuses = [child.wait() for child in children]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    del keep
    bad = [s for s in statuses if s not in (0, -signal.SIGTERM, -signal.SIGINT)]
    return bad[0] if bad else 0


def worker_argv() -> list[str]:
    """The command-line arguments after ``worker`` of this process."""
    argv = sys.argv[1:]
    return argv[argv.index("worker") + 1:] if "worker" in argv else argv


def embedded_endpoint_env() -> bool:
    """Whether the children need the parent's endpoint (nothing names another backend)."""
    return not os.environ.get("GREENFLOW_ENDPOINT")
