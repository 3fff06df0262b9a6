"""The store's transactions, commit counting and WAL checkpoints (idle and explicit)."""

from __future__ import annotations

import json

import gevent
import pytest

from greenflow.local.storage._checkpoint import IdleCheckpointer
from greenflow.local.storage._store import Store
from greenflow.local.wire._json import dumps


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "db.sqlite"))
    yield store
    store.close()


def _domains(store: Store) -> list[str]:
    return [row[0] for row in store.connection.execute("SELECT name FROM domains ORDER BY name")]


def _insert(conn, name: str) -> None:
    conn.execute("INSERT INTO domains (name, status, retention_days, arn, created) VALUES (?,?,?,?,?)",
                 (name, "REGISTERED", "1", f"arn:{name}", 0.0))


def test_nested_transactions_join_the_outer_one_and_commit_once(store):
    with store.transaction() as conn:
        _insert(conn, "a")
        with store.transaction() as inner:
            _insert(inner, "b")
        assert store.in_transaction
    assert not store.in_transaction
    assert _domains(store) == ["a", "b"]
    assert store.commits == 1 and store.commits_since_checkpoint == 1


def test_a_failure_anywhere_rolls_back_the_whole_transaction(store):
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            _insert(conn, "a")
            with store.transaction() as inner:
                _insert(inner, "b")
                raise RuntimeError("boom")
    assert _domains(store) == [] and not store.in_transaction and store.commits == 0
    with store.transaction() as conn:  # the store is usable again
        _insert(conn, "c")
    assert _domains(store) == ["c"]


def test_a_commit_listener_is_called_once_after_the_next_commit(store):
    calls = []
    store.on_next_commit(lambda: calls.append(store.in_transaction))
    with store.transaction() as conn:
        _insert(conn, "a")
        assert calls == []
    with store.transaction() as conn:
        _insert(conn, "b")
    assert calls == [False]


def test_checkpoint_copies_the_wal_and_keeps_the_data(store, tmp_path):
    assert store.checkpoint() is False  # nothing committed yet
    with store.transaction() as conn:
        _insert(conn, "a")
    with store.transaction():
        assert store.checkpoint() is False  # never inside a transaction
    assert store.checkpoint() is True
    assert store.commits_since_checkpoint == 0
    store.close()
    again = Store(str(tmp_path / "db.sqlite"))
    try:
        assert _domains(again) == ["a"]
    finally:
        again.close()


def test_the_idle_checkpointer_checkpoints_once_commits_stop(store):
    checkpointer = IdleCheckpointer(store, idle_seconds=0.01)
    checkpointer.start()
    try:
        with store.transaction() as conn:
            _insert(conn, "a")
        assert store.commits_since_checkpoint == 1
        with gevent.Timeout(30):  # a bound against hanging, not a timing assertion
            while store.commits_since_checkpoint:
                gevent.sleep(0.01)
        with store.transaction() as conn:  # it wakes up again for later commits
            _insert(conn, "b")
        with gevent.Timeout(30):
            while store.commits_since_checkpoint:
                gevent.sleep(0.01)
    finally:
        checkpointer.stop()
    assert _domains(store) == ["a", "b"]


@pytest.mark.parametrize("value", [
    {"a": 1, "b": [1.5, None, True, False], "c": {}, "d": "é\n\"\u2028"},
    [], "text", 3, 1_767_225_600.125, {"nested": [{"x": [[]]}]},
])
def test_compact_json_matches_the_standard_encoder(value):
    assert dumps(value) == json.dumps(value, separators=(",", ":"))


def test_compact_json_refuses_what_json_refuses():
    with pytest.raises(TypeError):
        dumps({"a": object()})
