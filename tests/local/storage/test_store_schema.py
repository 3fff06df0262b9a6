"""The store's schema: its version check and the indexes visibility and start-up rely on."""

from __future__ import annotations

import sqlite3

import pytest

from greenflow.local.storage._store import SCHEMA_VERSION, Store


def _plan(store: Store, sql: str, args: tuple) -> str:
    return " ".join(row[-1] for row in store.connection.execute("EXPLAIN QUERY PLAN " + sql, args))


def test_a_database_of_another_schema_version_is_refused_unchanged(tmp_path):
    path = str(tmp_path / "old.sqlite")
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
    old.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    old.commit()
    old.close()
    with pytest.raises(RuntimeError, match=f"schema version 1, this greenflow needs {SCHEMA_VERSION}"):
        Store(path)
    check = sqlite3.connect(path)
    tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master")}
    check.close()
    assert tables == {"meta"}  # nothing of the new schema was added


def test_a_new_database_records_the_schema_version_and_reopens(tmp_path):
    path = str(tmp_path / "new.sqlite")
    Store(path).close()
    store = Store(path)
    try:
        row = store.connection.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        assert row == (SCHEMA_VERSION,)
    finally:
        store.close()


@pytest.mark.parametrize(("sql", "index"), [
    # Closed runs by close time (visibility and the retention sweep): the partial index.
    ("SELECT workflow_id FROM executions WHERE domain = ? AND status = 'CLOSED' AND close_ts >= ?"
     " ORDER BY close_ts DESC", "executions_closed_by_close"),
    ("SELECT workflow_id FROM executions WHERE domain=? AND status='CLOSED' AND close_ts < ? LIMIT 10",
     "executions_closed_by_close"),
    # Open or closed runs by start time.
    ("SELECT workflow_id FROM executions WHERE domain = ? AND status = 'OPEN' AND start_ts >= ?"
     " ORDER BY start_ts DESC", "executions_by_start"),
    ("SELECT workflow_id FROM executions WHERE domain = ? AND status = 'CLOSED' AND start_ts >= ?",
     "executions_by_start"),
])
def test_visibility_queries_search_an_index_rather_than_scan(sql, index):
    store = Store(":memory:")
    try:
        plan = _plan(store, sql, (1,) * sql.count("?"))
        assert f"INDEX {index} (" in plan, plan
    finally:
        store.close()


@pytest.mark.parametrize(("sql", "search"), [
    # The engine's next window of deadlines: a range of the open runs' deadline index, in its order.
    ("SELECT state FROM executions WHERE status = 'OPEN'"
     " AND (next_deadline, domain, workflow_id, run_id) > (?, ?, ?, ?)"
     " ORDER BY next_deadline, domain, workflow_id, run_id LIMIT ?",
     "USING INDEX executions_open_by_deadline ((next_deadline,domain,workflow_id,run_id)>"),
    # The earliest deadline of all (test tools that jump virtual time).
    ("SELECT MIN(next_deadline) FROM executions WHERE status = 'OPEN'", "USING INDEX executions_open_by_deadline"),
    # The open run of a workflow ID: a range of the primary key.
    ("SELECT state FROM executions WHERE domain=? AND workflow_id=? AND status='OPEN'",
     "USING PRIMARY KEY (domain=? AND workflow_id=?)"),
])
def test_engine_queries_search_an_index_without_sorting(sql, search):
    store = Store(":memory:")
    try:
        plan = _plan(store, sql, (1,) * sql.count("?"))
        assert plan.startswith("SEARCH") and search in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    finally:
        store.close()
