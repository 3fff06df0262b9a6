"""One service per database file: an advisory lock beside the database that names its owner.

Two services on one SQLite file would each keep their own task queues and timers over
the same executions: tasks handed out twice, timers fired twice, polls that never see
work the other one stored. So a service holds an exclusive ``flock`` on ``DB.lock`` for as
long as it has the database open, and writes its process id and endpoint there; a second
service on the same file fails with :class:`DatabaseInUseError` naming the first, and
:func:`greenflow.connect` uses :func:`current_owner` to attach to a running embedded
service instead of starting a second one.

``flock`` locks belong to the open file, so the kernel drops them when the owner exits
or is killed: a stale lock file never blocks a restart.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Owner:
    """The service holding a database: its process id and endpoint (``None`` while starting)."""

    pid: int
    endpoint: str | None


class DatabaseInUseError(RuntimeError):
    """Another greenflow service has this database open."""

    def __init__(self, db_path: str, owner: Owner | None):
        self.db_path = db_path
        self.owner = owner
        where = ""
        if owner is not None:
            where = f" (process {owner.pid}" + (f", at {owner.endpoint})" if owner.endpoint else ", starting)")
        super().__init__(
            f"the database {db_path} is in use by another greenflow service{where}; connect to that "
            "service (greenflow.connect(endpoint=...) or GREENFLOW_ENDPOINT) or use another database")


def lock_path(db_path: str) -> str:
    """The lock file of ``db_path``."""
    return db_path + ".lock"


class DatabaseLock:
    """The exclusive lock a service holds on its database file while it has it open."""

    def __init__(self, db_path: str):
        self.db_path = db_path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock and record this process as the owner.

        Raises:
            DatabaseInUseError: another service holds it.
            sqlite3.OperationalError: the lock file cannot be made (no such directory, no
                permission): the database could not be opened either.
        """
        try:
            fd = os.open(lock_path(self.db_path), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise sqlite3.OperationalError(f"unable to open database file {self.db_path}: {error.strerror}") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(fd)
            os.close(fd)
            raise DatabaseInUseError(self.db_path, owner) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._write(None)

    def publish(self, endpoint: str) -> None:
        """Record where the owning service listens, for clients that attach to it."""
        if self._fd is not None:
            self._write(endpoint)

    def release(self) -> None:
        """Give the lock up (closing the file releases the ``flock``)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)

    def _write(self, endpoint: str | None) -> None:
        data = json.dumps({"pid": os.getpid(), "endpoint": endpoint}).encode()
        fd = self._fd
        assert fd is not None, "written only while the lock is held"
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)


def current_owner(db_path: str) -> Owner | None:
    """The service holding ``db_path`` now, or ``None`` when no service has it open."""
    try:
        fd = os.open(lock_path(db_path), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            # Held exclusively: a service owns it (it may still be writing its endpoint).
            return _read_owner(fd) or Owner(pid=0, endpoint=None)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_owner(fd: int) -> Owner | None:
    try:
        record = json.loads(os.pread(fd, 4096, 0) or b"null")
        return Owner(pid=int(record["pid"]), endpoint=record.get("endpoint") or None)
    except (OSError, ValueError, TypeError, KeyError):
        return None
