"""Listing and counting workflow executions (SWF's visibility operations).

Answered by SQL over the ``executions`` and ``execution_tags`` tables, which the engine
keeps up to date in the same transactions that change executions, so visibility is
always consistent here (SWF only promises eventual consistency).

Rules (swf-api.md §7.12): the open calls require ``startTimeFilter``; the closed calls
need exactly one of ``startTimeFilter`` and ``closeTimeFilter``; at most one of
``executionFilter``, ``typeFilter``, ``tagFilter`` (and ``closeStatusFilter`` for the
closed calls) per request. Lists are newest first by start time, or by close time with
``closeTimeFilter``; ``reverseOrder`` flips that. Pages are cut by keyset (timestamp,
workflowId, runId), not by offset, so paging stays correct while executions start and
close. A deprecated domain still answers.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from .._extensions import CLOSE_EVENT_MEMBER
from .storage._store import Store
from .wire._faults import validation_error
from .wire._paging import page_size, page_token_codec, request_scope

#: SWF's CloseStatus values.
CLOSE_STATUSES = ("COMPLETED", "FAILED", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW", "TIMED_OUT")

_COLUMNS = ("workflow_id, run_id, type_name, type_version, start_ts, close_ts, status, "
            "close_status, tag_list, cancel_requested, parent_workflow_id, parent_run_id")


def _epoch(value: Any, field: str) -> float:
    """A request timestamp as epoch seconds (the wire sends numbers; direct calls may pass datetimes)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise validation_error(f"Value {value!r} at '{field}' failed to satisfy constraint: "
                           "Member must be a timestamp")


def _time_range(time_filter: Any, field: str) -> tuple[float, float | None]:
    if not isinstance(time_filter, dict) or time_filter.get("oldestDate") is None:
        raise validation_error(f"Value null at '{field}.oldestDate' failed to satisfy constraint: "
                               "Member must not be null")
    oldest = _epoch(time_filter["oldestDate"], f"{field}.oldestDate")
    latest = time_filter.get("latestDate")
    return oldest, None if latest is None else _epoch(latest, f"{field}.latestDate")


def _member(params: dict, name: str, key: str) -> Any:
    value = params[name]
    if not isinstance(value, dict) or not isinstance(value.get(key), str):
        raise validation_error(f"Value null at '{name}.{key}' failed to satisfy constraint: "
                               "Member must not be null")
    return value[key]


def _execution_info(row: tuple) -> dict:
    (workflow_id, run_id, type_name, type_version, start_ts, close_ts, status, close_status,
     tag_list, cancel_requested, parent_workflow_id, parent_run_id) = row
    info: dict[str, Any] = {
        "execution": {"workflowId": workflow_id, "runId": run_id},
        "workflowType": {"name": type_name, "version": type_version},
        "startTimestamp": start_ts,
        "executionStatus": status,
        "cancelRequested": bool(cancel_requested),
    }
    if close_ts is not None:
        info["closeTimestamp"] = close_ts
    if close_status is not None:
        info["closeStatus"] = close_status
    if parent_workflow_id is not None:
        info["parent"] = {"workflowId": parent_workflow_id, "runId": parent_run_id}
    tags = json.loads(tag_list) if tag_list else []
    if tags:
        info["tagList"] = tags
    return info


class Visibility:
    """ListOpen/ListClosed/CountOpen/CountClosedWorkflowExecutions over one store.

    Args:
        store: the SQLite store the engine writes executions to.
        clock: the service clock (unused today; kept for symmetry with the other parts).
        registry: resolves the domain (``UnknownResourceFault`` for an unknown one).
    """

    OPERATIONS = (
        "ListOpenWorkflowExecutions", "ListClosedWorkflowExecutions",
        "CountOpenWorkflowExecutions", "CountClosedWorkflowExecutions",
    )

    def __init__(self, store: Store, clock: Any, registry: Any):
        self._store = store
        self._clock = clock
        self._registry = registry
        self._pages = page_token_codec(store)

    def _where(self, params: dict, *, closed: bool) -> tuple[str, list[Any], str]:
        """The WHERE clause, its arguments, and the timestamp column the results sort by."""
        domain = self._registry.require_domain(params.get("domain")).name
        # The status literally, not as a parameter: only then can SQLite use the partial
        # index of closed runs by close time.
        clauses = ["domain = ?", "status = 'CLOSED'" if closed else "status = 'OPEN'"]
        args: list[Any] = [domain]

        has_start = params.get("startTimeFilter") is not None
        has_close = params.get("closeTimeFilter") is not None
        if closed:
            if has_start == has_close:
                raise validation_error("Exactly one of startTimeFilter and closeTimeFilter must be "
                                       "specified" if not has_start else
                                       "Only one of startTimeFilter and closeTimeFilter may be specified")
        else:
            if not has_start:
                raise validation_error("Value null at 'startTimeFilter' failed to satisfy constraint: "
                                       "Member must not be null")
            for name in ("closeTimeFilter", "closeStatusFilter"):
                if params.get(name) is not None:
                    raise validation_error(f"{name} is not allowed when listing open executions")
        time_field = "closeTimeFilter" if has_close else "startTimeFilter"
        column = "close_ts" if has_close else "start_ts"
        oldest, latest = _time_range(params[time_field], time_field)
        clauses.append(f"{column} >= ?")
        args.append(oldest)
        if latest is not None:
            clauses.append(f"{column} <= ?")
            args.append(latest)

        filters = [name for name in ("executionFilter", "typeFilter", "tagFilter", "closeStatusFilter")
                   if params.get(name) is not None]
        if len(filters) > 1:
            raise validation_error(
                f"Only one of executionFilter, typeFilter, tagFilter{', closeStatusFilter' if closed else ''} "
                f"may be specified, got {', '.join(filters)}")
        if filters == ["executionFilter"]:
            clauses.append("workflow_id = ?")
            args.append(_member(params, "executionFilter", "workflowId"))
        elif filters == ["typeFilter"]:
            clauses.append("type_name = ?")
            args.append(_member(params, "typeFilter", "name"))
            version = params["typeFilter"].get("version")
            if version is not None:
                clauses.append("type_version = ?")
                args.append(version)
        elif filters == ["tagFilter"]:
            # A point lookup on execution_tags' primary key (domain, tag, workflow_id, run_id).
            clauses.append("EXISTS (SELECT 1 FROM execution_tags t WHERE t.domain = executions.domain "
                           "AND t.tag = ? AND t.workflow_id = executions.workflow_id "
                           "AND t.run_id = executions.run_id)")
            args.append(_member(params, "tagFilter", "tag"))
        elif filters == ["closeStatusFilter"]:
            status = _member(params, "closeStatusFilter", "status")
            if status not in CLOSE_STATUSES:
                raise validation_error(f"Value {status!r} at 'closeStatusFilter.status' failed to satisfy "
                                       f"constraint: Member must satisfy enum value set: [{', '.join(CLOSE_STATUSES)}]")
            clauses.append("close_status = ?")
            args.append(status)
        return " AND ".join(clauses), args, column

    def _list(self, operation: str, params: dict, *, closed: bool) -> dict:
        where, args, column = self._where(params, closed=closed)
        limit = page_size(params)
        scope = request_scope(operation, params)
        after = self._pages.decode(params.get("nextPageToken"), scope)
        # Newest first unless reverseOrder; workflow_id and run_id make the order total, so
        # a keyset position names exactly one place in it.
        ascending = bool(params.get("reverseOrder"))
        if after is not None:
            if not (isinstance(after, list) and len(after) == 3 and isinstance(after[0], (int, float))
                    and isinstance(after[1], str) and isinstance(after[2], str)):
                raise validation_error("Invalid nextPageToken")
            where += f" AND ({column}, workflow_id, run_id) {'>' if ascending else '<'} (?, ?, ?)"
            args.extend(after)
        order = "ASC" if ascending else "DESC"
        sql = (f"SELECT {_COLUMNS} FROM executions WHERE {where} "
               f"ORDER BY {column} {order}, workflow_id {order}, run_id {order} LIMIT ?")
        rows = self._store.connection.execute(sql, [*args, limit + 1]).fetchall()
        response: dict[str, Any] = {"executionInfos": [_execution_info(row) for row in rows[:limit]]}
        if len(rows) > limit:
            last = rows[limit - 1]
            ts = last[4] if column == "start_ts" else last[5]
            response["nextPageToken"] = self._pages.encode(scope, [ts, last[0], last[1]])
        return response

    def _count(self, params: dict, *, closed: bool) -> dict:
        where, args, _ = self._where(params, closed=closed)
        (count,) = self._store.connection.execute(
            f"SELECT COUNT(*) FROM executions WHERE {where}", args).fetchone()
        return {"count": count, "truncated": False}

    def list_open_workflow_executions(self, params: dict) -> dict:
        """ListOpenWorkflowExecutions: open executions started in a time range, newest first, paged."""
        return self._list("ListOpenWorkflowExecutions", params, closed=False)

    def list_closed_workflow_executions(self, params: dict) -> dict:
        """ListClosedWorkflowExecutions: closed executions by start or close time, newest first, paged."""
        return self._list("ListClosedWorkflowExecutions", params, closed=True)

    def attach_close_events(self, domain: str, answer: dict) -> None:
        """Add to each ``executionInfo`` of a closed-executions listing its run's closing event
        (``greenflow._extensions.CLOSE_EVENT_MEMBER``), as the history answers it."""
        lookup = self._store.connection.execute
        for info in answer.get("executionInfos", ()):
            execution = info["execution"]
            row = lookup("SELECT event FROM events WHERE domain=? AND workflow_id=? AND run_id=? "
                         "ORDER BY event_id DESC LIMIT 1",
                         (domain, execution["workflowId"], execution["runId"])).fetchone()
            if row is not None:
                info[CLOSE_EVENT_MEMBER] = json.loads(row[0])

    def count_open_workflow_executions(self, params: dict) -> dict:
        """CountOpenWorkflowExecutions: how many open executions match (never truncated here)."""
        return self._count(params, closed=False)

    def count_closed_workflow_executions(self, params: dict) -> dict:
        """CountClosedWorkflowExecutions: how many closed executions match (never truncated here)."""
        return self._count(params, closed=True)
