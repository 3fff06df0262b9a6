"""The executions list's filters, read from a page's query string and checked.

SWF lists executions with at most one of four filters (workflow ID, type, tag, close
status) and one time window, on start time or, for closed executions, close time. A
person's bad input (a second filter, an unreadable date, a status on open executions)
gets a message naming the field, never an SWF error page.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any, Mapping

from greenflow._swf_rules import CLOSE_STATUSES

__all__ = ["ExecutionFilter", "FilterError", "PAGE_SIZES", "parse_filter"]

#: Page sizes offered; the first is the default.
PAGE_SIZES = (50, 100, 200, 500, 1000)


class FilterError(ValueError):
    """The query string asks for a list SWF cannot give; the message names the field."""


@dataclasses.dataclass
class ExecutionFilter:
    """What the executions list shows.

    Attributes:
        closed: closed executions (else open ones).
        workflow_id, type_name, type_version, tag, status: the one SWF filter in use.
        since, until: the time window (UTC), on start time, or on close time when ``by_close``.
        page_size: executions per page; ``token`` the SWF page token of the page shown.
        page: the number of the page shown (1 for the first).
    """

    closed: bool = False
    workflow_id: str = ""
    type_name: str = ""
    type_version: str = ""
    tag: str = ""
    status: str = ""
    since: _dt.datetime | None = None
    until: _dt.datetime | None = None
    by_close: bool = False
    page_size: int = PAGE_SIZES[0]
    token: str = ""
    page: int = 1

    def swf_params(self, domain: str) -> dict[str, Any]:
        """The members of ``List*``/``Count*WorkflowExecutions`` (no paging members)."""
        params: dict[str, Any] = {"domain": domain}
        if self.workflow_id:
            params["executionFilter"] = {"workflowId": self.workflow_id}
        elif self.type_name:
            params["typeFilter"] = {"name": self.type_name, **({"version": self.type_version}
                                                               if self.type_version else {})}
        elif self.tag:
            params["tagFilter"] = {"tag": self.tag}
        elif self.status:
            params["closeStatusFilter"] = {"status": self.status}
        window: dict[str, Any] = {"oldestDate": self.since or _dt.datetime.fromtimestamp(0, _dt.timezone.utc)}
        if self.until is not None:
            window["latestDate"] = self.until
        params["closeTimeFilter" if self.by_close else "startTimeFilter"] = window
        return params

    def query(self, **changes: Any) -> dict[str, str]:
        """The query string of this filter (with ``changes``), for links and the next page."""
        values = dataclasses.replace(self, **changes)
        query = {"state": "closed" if values.closed else "open", "id": values.workflow_id,
                 "type": values.type_name + (":" + values.type_version if values.type_version else ""),
                 "tag": values.tag, "status": values.status, "since": _show(values.since),
                 "until": _show(values.until), "time": "close" if values.by_close else "",
                 "size": str(values.page_size) if values.page_size != PAGE_SIZES[0] else "",
                 "next": values.token, "page": str(values.page) if values.page > 1 else ""}
        return {key: value for key, value in query.items() if value}


def _show(when: _dt.datetime | None) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S") if when is not None else ""


def _time(args: Mapping[str, str], name: str) -> _dt.datetime | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(f"{name}: {text!r} is not a date and time (use YYYY-MM-DDTHH:MM, UTC)") from None
    return when.replace(tzinfo=_dt.timezone.utc) if when.tzinfo is None else when.astimezone(_dt.timezone.utc)


def parse_filter(args: Mapping[str, str]) -> ExecutionFilter:
    """Read an :class:`ExecutionFilter` from a query string.

    Raises:
        FilterError: two SWF filters at once, an unknown state or status, a bad date or
            page size, or a status filter on open executions.
    """
    state = args.get("state") or "open"
    if state not in ("open", "closed"):
        raise FilterError(f"state must be 'open' or 'closed', not {state!r}")
    result = ExecutionFilter(closed=state == "closed")
    result.workflow_id = (args.get("id") or "").strip()
    type_text = (args.get("type") or "").strip()
    result.type_name, _, result.type_version = type_text.partition(":")
    result.tag = (args.get("tag") or "").strip()
    result.status = (args.get("status") or "").strip().upper()
    given = [label for label, value in (("workflow ID", result.workflow_id), ("type", result.type_name),
                                        ("tag", result.tag), ("close status", result.status)) if value]
    if len(given) > 1:
        raise FilterError(f"SWF filters on one of workflow ID, type, tag or close status at a time; "
                          f"got {' and '.join(given)}")
    if result.status:
        if not result.closed:
            raise FilterError("close status filters closed executions: choose 'closed'")
        if result.status not in CLOSE_STATUSES:
            raise FilterError(f"close status must be one of {', '.join(CLOSE_STATUSES)}, not {result.status!r}")
    result.since, result.until = _time(args, "since"), _time(args, "until")
    if result.since and result.until and result.since > result.until:
        raise FilterError("since is after until")
    time_kind = args.get("time") or "start"
    if time_kind not in ("start", "close"):
        raise FilterError(f"time must be 'start' or 'close', not {time_kind!r}")
    result.by_close = time_kind == "close"
    if result.by_close and not result.closed:
        raise FilterError("close time filters closed executions: choose 'closed'")
    size = args.get("size") or str(PAGE_SIZES[0])
    if not size.isdigit() or int(size) not in PAGE_SIZES:
        raise FilterError(f"size must be one of {', '.join(map(str, PAGE_SIZES))}, not {size!r}")
    result.page_size = int(size)
    result.token = args.get("next") or ""
    page = args.get("page") or "1"
    result.page = int(page) if page.isdigit() and int(page) >= 1 else 1
    return result
