"""SQLite persistence of the local SWF service.

The schema below is the contract between the parts of the service: the registry
(domains and types), the execution engine (executions, their private state and their
history events) and visibility (lists and counts, read with SQL over ``executions``).

Durability: every request runs in one :meth:`Store.transaction`; the service answers
only after it committed. The database runs in WAL mode with ``synchronous=NORMAL``, which
keeps every committed transaction across a crash of the process (``kill -9``); pass
``synchronous="FULL"`` to also survive a power loss of the machine.

The service is single-threaded (one gevent hub), so one connection serves everything, and
one service owns the file (see :mod:`._lock`). So the connection locks the database in
``EXCLUSIVE`` mode: it takes SQLite's file locks once instead of several ``fcntl`` calls
per transaction, and keeps the WAL index in its own memory instead of a shared-memory file.

Checkpoints: SQLite copies the WAL back into the database every
:data:`WAL_BOUND_PAGES` pages by itself, on the commit that crosses the bound. The service
checkpoints earlier, when it is idle (:meth:`Store.checkpoint`, called by
:class:`~._checkpoint.IdleCheckpointer`), so that this work rarely lands on a request.
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Literal

SCHEMA = """
CREATE TABLE IF NOT EXISTS domains (
    name            TEXT PRIMARY KEY,
    status          TEXT NOT NULL,            -- REGISTERED | DEPRECATED
    description     TEXT,
    retention_days  TEXT NOT NULL,            -- as given: "0".."90" or "NONE"
    arn             TEXT NOT NULL UNIQUE,
    created         REAL NOT NULL
);

-- Resource tags (TagResource); only domains are taggable in SWF.
CREATE TABLE IF NOT EXISTS resource_tags (
    arn     TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (arn, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS types (
    kind              TEXT NOT NULL,          -- 'activity' | 'workflow'
    domain            TEXT NOT NULL,
    name              TEXT NOT NULL,
    version           TEXT NOT NULL,
    status            TEXT NOT NULL,          -- REGISTERED | DEPRECATED
    description       TEXT,
    creation_date     REAL NOT NULL,
    deprecation_date  REAL,
    configuration     TEXT NOT NULL,          -- JSON: the default* members as registered
    PRIMARY KEY (kind, domain, name, version)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS executions (
    domain            TEXT NOT NULL,
    workflow_id       TEXT NOT NULL,
    run_id            TEXT NOT NULL,
    type_name         TEXT NOT NULL,
    type_version      TEXT NOT NULL,
    start_ts          REAL NOT NULL,
    close_ts          REAL,
    status            TEXT NOT NULL,          -- OPEN | CLOSED
    close_status      TEXT,                   -- CloseStatus enum when CLOSED
    tag_list          TEXT NOT NULL DEFAULT '[]',   -- JSON list of the execution's tags
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    parent_workflow_id TEXT,
    parent_run_id      TEXT,
    state             TEXT NOT NULL,          -- JSON: the engine's private state of the run
    next_deadline     REAL,                   -- the open run's earliest timer or timeout (NULL: none)
    PRIMARY KEY (domain, workflow_id, run_id)
) WITHOUT ROWID;
-- Few indexes: every index costs each start and close about a page of writes.
-- Lists by start time, open or closed; the open runs of a domain (engine start-up).
CREATE INDEX IF NOT EXISTS executions_by_start ON executions (domain, status, start_ts);
-- Closed runs by close time (lists by close time, the retention sweep). Partial: a start
-- writes nothing to it. Queries must say status = 'CLOSED' literally for SQLite to use it.
CREATE INDEX IF NOT EXISTS executions_closed_by_close ON executions (domain, close_ts) WHERE status = 'CLOSED';
-- Open runs by their earliest deadline: the engine keeps only the next ones in memory and
-- reads the following window from here. Partial: queries must say status = 'OPEN' literally.
CREATE INDEX IF NOT EXISTS executions_open_by_deadline ON executions (next_deadline) WHERE status = 'OPEN';

-- One row per tag of an execution, for tagFilter.
CREATE TABLE IF NOT EXISTS execution_tags (
    domain       TEXT NOT NULL,
    workflow_id  TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    tag          TEXT NOT NULL,
    PRIMARY KEY (domain, tag, workflow_id, run_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS events (
    domain       TEXT NOT NULL,
    workflow_id  TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    event_id     INTEGER NOT NULL,
    event        TEXT NOT NULL,               -- JSON: the HistoryEvent as SWF answers it
    PRIMARY KEY (domain, workflow_id, run_id, event_id)
) WITHOUT ROWID;

-- Small service-wide values (schema version, counters).
CREATE TABLE IF NOT EXISTS meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;
"""

#: Version 2: the open-runs index is gone and the close-time index is partial (closed runs).
#: Version 3: ``executions.next_deadline`` and its index of open runs (see :data:`MIGRATIONS`).
SCHEMA_VERSION = "3"

#: The ``meta`` key set while the open runs' ``next_deadline`` must still be computed (a
#: database migrated from version 2): the engine computes them when it loads.
DEADLINES_PENDING = "next_deadline_pending"

#: Older version → the statements that bring it to :data:`SCHEMA_VERSION` (run before the
#: schema script, in one transaction).
MIGRATIONS = {
    "2": ("ALTER TABLE executions ADD COLUMN next_deadline REAL",
          f"INSERT INTO meta (key, value) VALUES ('{DEADLINES_PENDING}', '1')",
          f"UPDATE meta SET value = '{SCHEMA_VERSION}' WHERE key = 'schema_version'"),
}

#: The WAL size (in pages of 4 KB) at which SQLite checkpoints on a commit by itself,
#: however busy the service is: it bounds the WAL file at about 40 MB.
WAL_BOUND_PAGES = 10_000


class Store:
    """The service's SQLite database.

    Args:
        path: a file path, or ``":memory:"`` for a throw-away database (tests).
        synchronous: SQLite's ``synchronous`` pragma; ``NORMAL`` survives process crashes,
            ``FULL`` also survives power loss.
    """

    def __init__(self, path: str = ":memory:", *, synchronous: str = "NORMAL"):
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = path
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction spans
        # exactly one request. check_same_thread=False: the service may be built in one
        # thread and served from another, but only ever used by one at a time.
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # Before WAL mode is entered, so that the WAL index lives in this process's memory.
        self.connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute(f"PRAGMA wal_autocheckpoint={WAL_BOUND_PAGES}")
        self.connection.execute(f"PRAGMA synchronous={synchronous}")
        self.connection.execute("PRAGMA foreign_keys=OFF")
        # Checked before the schema is applied, so that a database of another version is
        # refused without being changed.
        version = self._schema_version()
        if version in MIGRATIONS:
            self._migrate(MIGRATIONS[version])
            version = SCHEMA_VERSION
        if version is not None and version != SCHEMA_VERSION:
            self.connection.close()
            raise RuntimeError(f"{path}: database schema version {version}, this greenflow needs {SCHEMA_VERSION}")
        self.connection.executescript(SCHEMA)
        if version is None:
            self.connection.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        self._depth = 0
        self._transaction = _Transaction(self)
        #: Transactions committed so far (the idle checkpointer compares it over time).
        self.commits = 0
        #: Commits since the last checkpoint (an upper bound of the work one would do).
        self.commits_since_checkpoint = 0
        self._commit_listener: Callable[[], None] | None = None

    def _schema_version(self) -> str | None:
        """The version the database was made with; ``None`` for a new (empty) database."""
        has_meta = self.connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        if has_meta is None:
            return None
        row = self.connection.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return None if row is None else row[0]

    def _migrate(self, statements: tuple[str, ...]) -> None:
        conn = self.connection
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise

    def transaction(self) -> _Transaction:
        """``with store.transaction() as conn:`` runs the block in one transaction, committed
        when it ends, rolled back if it raises.

        Nested uses join the outer transaction, so a helper can open one without knowing
        whether its caller already did.
        """
        return self._transaction

    @property
    def in_transaction(self) -> bool:
        """Whether a :meth:`transaction` block is running."""
        return self._depth > 0

    def on_next_commit(self, listener: Callable[[], None] | None) -> None:
        """Call ``listener()`` once, after the next commit (``None`` forgets a listener)."""
        self._commit_listener = listener

    def _committed(self) -> None:
        self.commits += 1
        self.commits_since_checkpoint += 1
        listener = self._commit_listener
        if listener is not None:
            self._commit_listener = None
            listener()

    def checkpoint(self) -> bool:
        """Copy the committed WAL into the database (a PASSIVE checkpoint: it never waits).

        Does nothing inside a transaction or without commits since the last checkpoint.
        Returns whether it checkpointed.
        """
        if self._depth or not self.commits_since_checkpoint:
            return False
        self.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.commits_since_checkpoint = 0
        return True

    def close(self) -> None:
        """Close the database; committed data stays on disk."""
        self.connection.close()


class _Transaction:
    """The context manager :meth:`Store.transaction` answers (one per store, re-entrant).

    A class rather than ``contextlib.contextmanager``: every request enters it, and a
    generator per use costs more than the ``BEGIN`` it wraps.
    """

    __slots__ = ("_store",)

    def __init__(self, store: Store):
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        store = self._store
        if not store._depth:
            store.connection.execute("BEGIN IMMEDIATE")
        store._depth += 1
        return store.connection

    def __exit__(self, exc_type, exc, traceback) -> Literal[False]:
        store = self._store
        store._depth -= 1
        if store._depth:
            return False  # an inner block: the outer one commits or rolls back
        if exc_type is not None:
            # SQLite may have rolled back by itself already (after some I/O errors).
            if store.connection.in_transaction:
                store.connection.execute("ROLLBACK")
            return False
        try:
            store.connection.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (disk full, I/O error) leaves the transaction open: end it.
            if store.connection.in_transaction:
                store.connection.execute("ROLLBACK")
            raise
        store._committed()
        return False
