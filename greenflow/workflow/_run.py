"""One workflow run: the commands its workflow code makes, queries, and eviction.

:class:`WorkflowRun` joins the parts of a run (see ``_state``): history replay
(``_replay``), applying results (``_results``), markers (``_markers``), and here the calls
``_api`` makes for workflow code (activities, timers, child workflows, external signals and
cancellations, continue-as-new) plus those the decider makes (queries, stack traces, kill).
"""

from __future__ import annotations

import datetime
import logging
import math
import uuid
from typing import Any

from greenlet import error as greenlet_error
from greenlet import getcurrent

from greenflow._payload import encode_args
from greenflow._swf_rules import MAX_DURATION_SECONDS
from greenflow.errors import CancelledError, WorkflowError

from . import _commands as C
from ._hub import Future, StopWorkflow, caller_location
from ._markers import Markers
from ._options import current_activity_options, current_workflow_options
from ._replay import HistoryReplay
from ._results import ResultApplier
from ._stack import STACK_TRACE_QUERY, StackTrace
from ._stack import collect as collect_stack

log = logging.getLogger("greenflow.workflow")


class WorkflowRun(HistoryReplay, ResultApplier, Markers):
    """The live state of one workflow run; see the module docstring and ``_state``.

    Not thread-safe: a run (its greenlets) belongs to the thread that created it.
    """

    def schedule_activity(self, activity_type, args: tuple, kwargs: dict, options: dict | None = None) -> Future:
        """Make a ``ScheduleActivityTask`` command; ``options`` (default: ``activity_options``) override the type's."""
        converter = activity_type.converter or self.converter
        text = encode_args(converter, args, kwargs, f"input of activity {activity_type.name}")
        merged = {
            "task_list": activity_type.task_list,
            "task_priority": activity_type.task_priority,
            "schedule_to_start_timeout": activity_type.schedule_to_start_timeout,
            "start_to_close_timeout": activity_type.start_to_close_timeout,
            "schedule_to_close_timeout": activity_type.schedule_to_close_timeout,
            "heartbeat_timeout": activity_type.heartbeat_timeout,
        }
        merged.update(options if options is not None else current_activity_options())
        activity_id = self.next_id()
        future: Future[Any] = Future(self, f"activity {activity_type.name} id={activity_id}")
        command = C.ScheduleActivity(activity_id, activity_type.name, merged.get("version") or activity_type.version,
                                     text, merged, converter, future, caller_location())
        future.source = command
        future._cancel_fn = lambda: self._cancel_activity(command)
        self._add(command)
        return future

    def _cancel_activity(self, command) -> bool:
        if command.key in self.pending:
            del self.pending[command.key]
            command.future._fail(CancelledError(f"activity {command.name} (id {command.id}) was cancelled"))
            return True
        key = ("cancel_activity", command.id)
        if key not in self.cancelling:
            self.cancelling.add(key)
            self._add(C.CancelActivity(command.id, location=caller_location()))
        return True

    def start_timer(self, seconds: float) -> Future:
        """Make a ``StartTimer`` command of ``seconds`` rounded up to whole seconds."""
        if isinstance(seconds, datetime.timedelta):
            seconds = seconds.total_seconds()
        # NaN and infinity fail the range check too (and would break math.ceil).
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not 0 <= seconds <= MAX_DURATION_SECONDS:
            raise ValueError(f"a timer needs a duration of 0 to {MAX_DURATION_SECONDS} seconds, not {seconds!r}")
        whole = math.ceil(seconds)  # SWF timers count whole seconds; never fire early
        timer_id = self.next_id()
        future: Future[Any] = Future(self, f"timer {whole}s id={timer_id}")
        command = C.StartTimer(timer_id, whole, future, caller_location())
        future.source = command
        future._cancel_fn = lambda: self._cancel_timer(command)
        self._add(command)
        return future

    def _cancel_timer(self, command) -> bool:
        if command.future.done():
            return False
        if command.key in self.pending:
            del self.pending[command.key]
        else:
            self._add(C.CancelTimer(command.id, location=caller_location()))
        command.future._fail(CancelledError(f"timer {command.id} was cancelled"))
        return True

    def start_child(self, workflow_type, args: tuple, kwargs: dict, converter=None) -> Future:
        """Make a ``StartChildWorkflowExecution`` command (default ID ``<run id>-<command id>``)."""
        opts = current_workflow_options()
        converter = converter or self.converter
        n = self.next_id()
        workflow_id = opts.get("workflow_id") or f"{self.id_prefix}-{n}"
        options = {
            "execution_start_to_close_timeout": workflow_type.execution_start_to_close_timeout,
            "task_start_to_close_timeout": workflow_type.task_start_to_close_timeout,
            "task_list": workflow_type.task_list or (self.info.task_list if self.info else None),
            "task_priority": workflow_type.task_priority,
            "child_policy": workflow_type.child_policy,
        }
        options.update(opts)
        text = encode_args(converter, args, kwargs, f"input of child workflow {workflow_type.name}")
        future: Future[Any] = Future(self, f"child workflow {workflow_type.name} {workflow_id}")
        command = C.StartChild(workflow_id, workflow_type.name, opts.get("version") or workflow_type.version, text,
                               options, converter, future, caller_location())
        future.source = command
        future._cancel_fn = lambda: self._cancel_child(command)
        self._add(command)
        return future

    def call_child(self, workflow_type, args: tuple, kwargs: dict, converter=None) -> Any:
        """Start a child workflow and block for its result."""
        return self.start_child(workflow_type, args, kwargs, converter).result()

    def _cancel_child(self, command) -> bool:
        if command.key in self.pending:
            del self.pending[command.key]
            command.future._fail(CancelledError(f"child workflow {command.id} was cancelled before it started"))
            return True
        key = ("cancel_child", command.id)
        if key not in self.cancelling:
            self.cancelling.add(key)
            self._add(C.CancelExternal(self.next_id(), command.id, command.run_id or None, None, caller_location()))
        return True

    def signal_external(self, workflow_id: str, signal_name: str, args: tuple, kwargs: dict,
                        run_id: str | None = None) -> Future:
        """Make a ``SignalExternalWorkflowExecution`` command."""
        text = encode_args(self.converter, args, kwargs, f"input of signal {signal_name}")
        command_id = self.next_id()
        future: Future[Any] = Future(self, f"signal {signal_name} to {workflow_id}")
        future.source = C.SignalExternal(command_id, workflow_id, run_id, signal_name, text, future, caller_location())
        self._add(future.source)
        return future

    def request_cancel_external(self, workflow_id: str, run_id: str | None = None) -> Future:
        """Make a ``RequestCancelExternalWorkflowExecution`` command."""
        command_id = self.next_id()
        future: Future[Any] = Future(self, f"cancel request to {workflow_id}")
        future.source = C.CancelExternal(command_id, workflow_id, run_id, future, caller_location())
        self._add(future.source)
        return future

    def continue_as_new(self, args: tuple, kwargs: dict) -> None:
        """Set the closing ``ContinueAsNewWorkflowExecution`` and unwind the caller."""
        opts = current_workflow_options()
        info = self.info
        if info is None:
            raise WorkflowError("continue_as_new(): the workflow has not started")
        text = encode_args(self.converter, args, kwargs, f"input of workflow {info.workflow_type[0]}")
        attrs: dict[str, Any] = {"input": text}
        timeout = opts.get("execution_start_to_close_timeout", info.execution_start_to_close_timeout)
        if timeout is not None:
            attrs["executionStartToCloseTimeout"] = str(timeout)
        task_timeout = opts.get("task_start_to_close_timeout", info.task_start_to_close_timeout)
        if task_timeout is not None:
            attrs["taskStartToCloseTimeout"] = str(task_timeout)
        attrs["taskList"] = {"name": opts.get("task_list") or info.task_list}
        priority = opts.get("task_priority", info.task_priority)
        if priority is not None:
            attrs["taskPriority"] = str(priority)
        if opts.get("child_policy") or info.child_policy:
            attrs["childPolicy"] = opts.get("child_policy") or info.child_policy
        tags = opts.get("tags", info.tags)
        if tags:
            attrs["tagList"] = list(tags)
        if opts.get("version"):
            attrs["workflowTypeVersion"] = opts["version"]
        if self.close is None:
            self._set_close(C.Close("ContinueAsNewWorkflowExecution", attrs, caller_location()))
        raise StopWorkflow()

    def uuid4(self) -> uuid.UUID:
        """Return a version-4 UUID from the run's seeded generator."""
        return uuid.UUID(int=self.random.getrandbits(128), version=4)

    def query(self, name: str, args: tuple) -> Any:
        """Evaluate ``@query`` ``name`` on the replayed instance, in a workflow greenlet.

        :data:`STACK_TRACE_QUERY` is built in: it needs no ``@query`` and returns
        :meth:`stack_trace` as a dict.
        """
        if name == STACK_TRACE_QUERY:
            if args:
                raise WorkflowError(f"GF-QUERY: the built-in query {name!r} takes no arguments")
            return self.stack_trace().to_dict()
        if self.definition is None or self.instance is None:
            raise WorkflowError("GF-QUERY: the history has not started the workflow (no instance to query)")
        method_name = self.definition.queries.get(name)
        if method_name is None:
            known = ", ".join(sorted(self.definition.queries)) or "none"
            raise WorkflowError(
                f"GF-QUERY: workflow {self.workflow_name} has no query {name!r} (known: {known})")
        self.query_mode = True
        self.replaying = True
        try:
            g = self.hub.spawn(getattr(self.instance, method_name), tuple(args), name=f"@query {name}", role="query")
            self.hub.run_until_quiescent()
            if not g.future.done():
                raise WorkflowError(f"GF-QUERY: query {name!r} blocked; queries must only read workflow state")
            return g.future.result()
        finally:
            self.query_mode = False

    def stack_trace(self) -> StackTrace:
        """Where each live workflow greenlet of this run stands and what it awaits (see ``_stack``)."""
        return collect_stack(self)

    # ================================================================ eviction
    def kill(self) -> None:
        """Unwind every greenlet of this run (it leaves the cache).

        Greenlets belong to the thread that created them; from another thread they cannot
        be unwound, and are simply dropped (greenlet collects them in their own thread).
        """
        # Code unwinding now re-runs nothing live: the logger and is_replaying() say so.
        self.replaying = True
        try:
            self.hub.kill_all()
        except (greenlet_error, ValueError):  # ValueError: "parent cannot be on a different thread"
            log.debug("run %s/%s dropped from another thread without unwinding", self.workflow_id, self.run_id)


def current_run() -> WorkflowRun:
    """The run whose workflow code is executing (raises outside workflow code)."""
    run = getattr(getcurrent(), "gf_run", None)
    if run is None:
        raise WorkflowError("this greenflow.workflow function works only inside workflow code "
                            "(an @execute method, a signal handler or a function it spawned)")
    return run
