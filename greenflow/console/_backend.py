"""Every SWF call the console makes, through greenflow's SWF client (so any SWF endpoint works).

Reads (domains, executions, counts, histories, task-list backlogs) and the operator's
actions (signal, cancel, terminate, start). Inputs typed on a page arrive as JSON text and
are checked here, so a bad one is a clear message, never an SWF fault or a 500.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterator

from greenflow._payload import encode_args
from greenflow._swf_rules import MAX_TAGS, event_attributes

from ._code import WorkflowCode
from ._filters import ExecutionFilter

__all__ = ["ConsoleBackend", "InputError", "TaskListBacklog"]

#: Most registered types the task-lists page describes to find their default task lists.
MAX_TYPES_DESCRIBED = 200


class InputError(ValueError):
    """What a person typed cannot be sent (bad JSON, too many tags, ...); the message says why."""


@dataclasses.dataclass
class TaskListBacklog:
    """One task list's backlog.

    Attributes:
        name: the task list; ``kind`` ``decision`` or ``activity``.
        count: tasks waiting for a worker (SWF's ``Count*PendingTasks``); ``truncated``
            when SWF stopped counting.
        used_by: the registered types that default to it.
    """

    name: str
    kind: str
    count: int
    truncated: bool
    used_by: list[str]


def _json_arguments(text: str, what: str) -> list[Any]:
    text = (text or "").strip()
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError as error:
        raise InputError(f"{what}: not JSON ({error})") from None
    if not isinstance(value, list):
        raise InputError(f"{what}: a JSON array of the arguments, e.g. [\"alice\", 3], not {type(value).__name__}")
    return value


class ConsoleBackend:
    """The console's view of one SWF endpoint.

    Args:
        swf: a :class:`greenflow.swf.SWFClient` (signed when the endpoint needs it).
        code: the workflow code loaded for stack traces and converters.
    """

    def __init__(self, swf: Any, code: WorkflowCode):
        self.swf = swf
        self.code = code

    # ------------------------------------------------------------ domains

    def _all(self, operation: str, key: str, **params: Any) -> Iterator[dict]:
        while True:
            answer = self.swf.call(operation, **params)
            yield from answer.get(key) or []
            token = answer.get("nextPageToken")
            if not token:
                return
            params["nextPageToken"] = token

    def domains(self) -> list[dict]:
        """Registered then deprecated domains, each ``DomainInfo`` with its open-execution count."""
        found = []
        for status in ("REGISTERED", "DEPRECATED"):
            found += list(self._all("ListDomains", "domainInfos", registrationStatus=status))
        for info in found:
            count = self.count(ExecutionFilter(), info["name"])
            info["openCount"], info["openTruncated"] = count
        return found

    # ------------------------------------------------------------ executions

    def executions(self, domain: str, selection: ExecutionFilter) -> tuple[list[dict], str]:
        """One page of executions (newest first) and the token of the next page ("" at the end)."""
        params = selection.swf_params(domain)
        params["maximumPageSize"] = selection.page_size
        if selection.token:
            params["nextPageToken"] = selection.token
        operation = "ListClosedWorkflowExecutions" if selection.closed else "ListOpenWorkflowExecutions"
        answer = self.swf.call(operation, **params)
        return list(answer.get("executionInfos") or []), answer.get("nextPageToken") or ""

    def count(self, selection: ExecutionFilter, domain: str) -> tuple[int, bool]:
        """How many executions ``selection`` matches, and whether SWF stopped counting."""
        operation = "CountClosedWorkflowExecutions" if selection.closed else "CountOpenWorkflowExecutions"
        answer = self.swf.call(operation, **selection.swf_params(domain))
        return int(answer.get("count") or 0), bool(answer.get("truncated"))

    def describe(self, domain: str, workflow_id: str, run_id: str) -> dict:
        """``DescribeWorkflowExecution`` of one run."""
        return self.swf.call("DescribeWorkflowExecution", domain=domain,
                             execution={"workflowId": workflow_id, "runId": run_id})

    def history(self, domain: str, workflow_id: str, run_id: str) -> list[dict]:
        """Every history event of one run, oldest first."""
        return list(self.swf.history(domain, workflow_id, run_id))

    def latest_run(self, domain: str, workflow_id: str) -> str | None:
        """The open run of ``workflow_id``, else its newest closed run, else None."""
        for operation in ("ListOpenWorkflowExecutions", "ListClosedWorkflowExecutions"):
            answer = self.swf.call(operation, domain=domain, startTimeFilter={"oldestDate": 0},
                                   executionFilter={"workflowId": workflow_id}, maximumPageSize=1)
            infos = answer.get("executionInfos") or []
            if infos:
                return str(infos[0]["execution"]["runId"])
        return None

    # ------------------------------------------------------------ types and task lists

    def workflow_types(self, domain: str) -> list[dict]:
        """Registered workflow types (``WorkflowTypeInfo``), by name."""
        return list(self._all("ListWorkflowTypes", "typeInfos", domain=domain, registrationStatus="REGISTERED"))

    def task_lists(self, domain: str, extra: list[str]) -> list[TaskListBacklog]:
        """The backlog of every task list the domain's registered types default to, plus ``extra``.

        SWF has no call that lists task lists; the registered types' defaults are what it
        tells. Extra names (typed on the page) are counted as both kinds.
        """
        used: dict[tuple[str, str], list[str]] = {}
        described = 0
        for kind, operation, describe, member in (
                ("decision", "ListWorkflowTypes", "DescribeWorkflowType", "workflowType"),
                ("activity", "ListActivityTypes", "DescribeActivityType", "activityType")):
            for info in self._all(operation, "typeInfos", domain=domain, registrationStatus="REGISTERED"):
                if described >= MAX_TYPES_DESCRIBED:
                    break
                described += 1
                spec = info[member]
                answer = self.swf.call(describe, domain=domain, **{member: spec})
                task_list = ((answer.get("configuration") or {}).get("defaultTaskList") or {}).get("name")
                if task_list:
                    used.setdefault((task_list, kind), []).append(f"{spec['name']} {spec['version']}")
        for name in extra:
            for kind in ("decision", "activity"):
                used.setdefault((name, kind), [])
        found = []
        for (name, kind), types in sorted(used.items()):
            operation = "CountPendingDecisionTasks" if kind == "decision" else "CountPendingActivityTasks"
            answer = self.swf.call(operation, domain=domain, taskList={"name": name})
            found.append(TaskListBacklog(name, kind, int(answer.get("count") or 0), bool(answer.get("truncated")),
                                         types))
        return found

    # ------------------------------------------------------------ actions

    def _converter(self, domain: str, workflow_id: str, run_id: str) -> Any:
        info = self.describe(domain, workflow_id, run_id)["executionInfo"]["workflowType"]
        return self.code.converter_for(info["name"], info["version"])

    def signal(self, domain: str, workflow_id: str, run_id: str, name: str, input_text: str) -> None:
        """Send signal ``name`` with a JSON array of arguments to the run."""
        name = (name or "").strip()
        if not name:
            raise InputError("signal name: required")
        args = _json_arguments(input_text, "input")
        text = encode_args(self._converter(domain, workflow_id, run_id), args, {},
                           f"input of signal {name!r}")
        self.swf.call("SignalWorkflowExecution", domain=domain, workflowId=workflow_id, runId=run_id,
                      signalName=name, input=text)

    def cancel(self, domain: str, workflow_id: str, run_id: str) -> None:
        """Ask the run to cancel (its code decides how)."""
        self.swf.call("RequestCancelWorkflowExecution", domain=domain, workflowId=workflow_id, runId=run_id)

    def terminate(self, domain: str, workflow_id: str, run_id: str, reason: str) -> None:
        """Close the run at once as TERMINATED."""
        params: dict[str, Any] = {"domain": domain, "workflowId": workflow_id, "runId": run_id}
        if reason.strip():
            params["reason"] = reason.strip()[:256]
        self.swf.call("TerminateWorkflowExecution", **params)

    def start(self, domain: str, type_text: str, workflow_id: str, task_list: str, input_text: str,
              tags_text: str) -> tuple[str, str]:
        """Start an execution of a registered type (``name:version``); returns (workflow ID, run ID)."""
        name, _, version = (type_text or "").partition(":")
        if not name or not version:
            raise InputError("workflow type: choose a registered type")
        workflow_id = (workflow_id or "").strip()
        if not workflow_id:
            raise InputError("workflow ID: required")
        tags = [tag.strip() for tag in (tags_text or "").split(",") if tag.strip()]
        if len(tags) > MAX_TAGS:
            raise InputError(f"tags: SWF allows at most {MAX_TAGS}, not {len(tags)}")
        args = _json_arguments(input_text, "input")
        params: dict[str, Any] = {"domain": domain, "workflowId": workflow_id,
                                  "workflowType": {"name": name, "version": version},
                                  "input": encode_args(self.code.converter_for(name, version), args, {},
                                                       f"input of workflow {name} ({workflow_id})")}
        if task_list.strip():
            params["taskList"] = {"name": task_list.strip()}
        if tags:
            params["tagList"] = tags
        answer = self.swf.call("StartWorkflowExecution", **params)
        return workflow_id, str(answer["runId"])


def workflow_type_of(events: list[dict]) -> tuple[str, str]:
    """The ``(name, version)`` recorded in a history's ``WorkflowExecutionStarted`` event."""
    for event in events[:1]:
        kind = event_attributes(event).get("workflowType") or {}
        return str(kind.get("name", "")), str(kind.get("version", ""))
    return "", ""
