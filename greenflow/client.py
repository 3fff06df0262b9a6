"""Starting workflow executions and talking to them.

:class:`WorkflowClient` starts executions of a domain and lists them; each start returns a
:class:`WorkflowHandle`, which waits for the result, signals, cancels, terminates,
describes, reads the history and evaluates ``@query`` methods by replaying that history
locally. :func:`workflow_starter` installs a client as the *starter*, so that calling a
workflow's ``@execute`` method outside a workflow starts an execution (the AWS Flow
Framework style)::

    with workflow_starter(swf, "orders", "deciders"):
        handle = OrderWorkflow.process(order_id)
    print(handle.result())

Everything here goes through :class:`greenflow.swf.SWFClient`, so it works the same on the
local service and on Amazon SWF.

One file: it is the public surface users import (``greenflow.client``), and the client and
its handles refer to each other throughout (a handle waits through its client's result
waiter and follows continue-as-new through it; the client makes the handles). The result
waiting itself lives in :mod:`greenflow._result_waiter`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import queue
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable, Generator, Generic, Iterable, Iterator, Sequence, TypeVar, overload

from . import errors
from ._result_waiter import CLOSE_EVENTS, ResultWaiter, continued_run
from ._swf_rules import CHILD_POLICIES, CLOSE_STATUSES, event_attributes
from .converter import DEFAULT_CONVERTER, DataConverter, check_size, exception_from_failure

__all__ = ["WorkflowClient", "WorkflowHandle", "workflow_starter", "wait", "as_completed",
           "FIRST_COMPLETED", "ALL_COMPLETED", "CLOSE_EVENTS"]

log = logging.getLogger(__name__)


def _as_swf(client: Any) -> Any:
    from .swf import as_client  # imported late: greenflow.swf imports botocore
    return as_client(client)


def _duration(value: Any, what: str) -> str | None:
    """An SWF duration string from seconds (int/float/str) or ``"NONE"``; None stays None."""
    if value is None:
        return None
    if hasattr(value, "total_seconds"):  # a timedelta
        value = value.total_seconds()
    if isinstance(value, str):
        if value == "NONE" or value.isdigit():
            return value
        raise ValueError(f"{what} must be a number of seconds or 'NONE', not {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{what} must be a number of seconds >= 0, not {value!r}")
    return str(int(value))


# --------------------------------------------------------------------------- glue to the runtime


def _workflow_type_of(target: Any) -> Any:
    """The ``WorkflowType`` of ``Workflow.method`` (or a ``WorkflowType`` itself)."""
    if isinstance(getattr(target, "name", None), str) and hasattr(target, "version") and not callable(target):
        return target  # a WorkflowType (or anything shaped like one, e.g. from the CLI)
    from .workflow._definition import workflow_type_of
    return workflow_type_of(target)


def _workflow_class_of(target: Any) -> type | None:
    """The ``WorkflowDefinition`` subclass that defines ``Workflow.method``, if it can be found."""
    owner = getattr(target, "cls", None)  # an ExecuteStub: ``Workflow.method``
    if isinstance(owner, type):
        return owner
    owner = getattr(target, "__self__", None)
    if owner is not None:
        return owner if isinstance(owner, type) else type(owner)
    qualname = getattr(target, "__qualname__", "")
    module = getattr(target, "__module__", None)
    if "." not in qualname or module is None:
        return None
    import sys
    obj: Any = sys.modules.get(module)
    for part in qualname.split(".")[:-1]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj if isinstance(obj, type) else None


def _encode_args(converter: DataConverter, args: Sequence[Any], kwargs: dict[str, Any], what: str) -> str:
    """Arguments in the wire form the decider reads (``greenflow._payload``), size-checked."""
    from ._payload import encode_args
    return encode_args(converter, tuple(args), dict(kwargs), what)


def _execute_function(workflow_class: type | None, workflow_type: Any) -> Callable[..., Any] | None:
    """The ``@execute`` function of ``workflow_type`` in ``workflow_class``, if both are known."""
    definition = getattr(workflow_class, "_gf_definition", None)
    for method_name, kind in getattr(definition, "types", {}).items():
        if kind == workflow_type:
            return getattr(inspect.getattr_static(workflow_class, method_name), "fn", None)
    return None


@functools.lru_cache(maxsize=1024)
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    """``fn``'s signature, computed once per function (every ``start()`` checks against it)."""
    try:
        return inspect.signature(fn, eval_str=True)  # `amount: int`, not `amount: 'int'`
    except Exception:  # noqa: BLE001 - an unresolvable annotation: show it as written
        return inspect.signature(fn)


def _check_arguments(fn: Callable[..., Any] | None, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
    """Raise ``TypeError`` here when the workflow's ``@execute`` method cannot take these arguments.

    Checked where the caller made the mistake, rather than on the worker, where the
    execution would fail with the same ``TypeError`` after it started.
    """
    if fn is None:
        return
    signature = _signature(fn)
    try:
        signature.bind(None, *args, **kwargs)  # None stands for self
    except TypeError as error:
        raise TypeError(f"{fn.__qualname__}{signature} cannot take these arguments: {error}") from None


def _check_rebuildable(converter: DataConverter, text: str | None, what: str) -> None:
    """Raise ``DataConversionError`` here when the worker could not rebuild the converted input.

    Decoding what was just encoded applies the converter's own rules: a dataclass or enum
    that is not registered would otherwise fail the execution on the worker, after it started.
    """
    try:
        converter.loads(text)
    except errors.DataConversionError as error:
        raise errors.DataConversionError(f"{what} could not be read back by a workflow worker: {error}") from None


def _current_options() -> dict[str, Any]:
    """The ``workflow_options(...)`` in effect where ``start`` is called."""
    from .workflow._options import current_workflow_options
    return dict(current_workflow_options() or {})


# --------------------------------------------------------------------------- handle


if TYPE_CHECKING:  # for the signatures only: the client does not import the workflow side
    from .workflow._descriptor import ClassStub

#: The result type of a workflow's ``@execute`` method, carried by its handle.
R = TypeVar("R")


class WorkflowHandle(Generic[R]):
    """One workflow execution, identified by its workflow ID (and the run it started as).

    A handle follows continue-as-new: :meth:`result` waits for the last run of the chain.
    :meth:`signal`, :meth:`cancel` and :meth:`terminate` address the *current open run* of
    the workflow ID unless the handle was made for an explicit run
    (``get_handle(workflow_id, run_id, pin=True)``).

    Attributes:
        workflow_id: the execution's workflow ID.
        run_id: the run this handle was created for (``None`` until resolved).
        domain: the SWF domain.
    """

    def __init__(self, client: "WorkflowClient", workflow_id: str, run_id: str | None = None, *,
                 workflow_class: type | None = None, pinned: bool = False):
        self._client = client
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.workflow_class = workflow_class
        self._pinned = pinned
        self._last_run_id = run_id
        # Monotonic time before this client started the run (None for get_handle()): a run
        # started while the result waiter watched needs no first check (see ResultWaiter).
        self._started_at: float | None = None
        self._close: tuple[str, dict] | None = None  # (run ID, its close event), once read

    @property
    def converter(self) -> DataConverter:
        """The workflow's converter if it declares one, else the client's."""
        return self._client._converter_for(self.workflow_class)

    def __repr__(self) -> str:
        return f"<WorkflowHandle {self.domain}/{self.workflow_id} run={self.run_id}>"

    @property
    def domain(self) -> str:
        """The SWF domain of the execution."""
        return self._client.domain

    @property
    def swf(self) -> Any:
        """The :class:`~greenflow.swf.SWFClient` this handle calls through."""
        return self._client.swf

    @property
    def latest_run_id(self) -> str | None:
        """The newest run this handle knows of (after continue-as-new, the run it followed to)."""
        return self._last_run_id

    # ---------------------------------------------------------------- runs

    def _resolve_run_id(self) -> str:
        if self._last_run_id is None:
            info = self._client._latest_execution(self.workflow_id)
            if info is None:
                raise errors.UnknownResourceError(
                    f"no execution with workflow ID {self.workflow_id!r} in domain {self.domain!r}",
                    code="UnknownResourceFault", operation="ListWorkflowExecutions")
            self._last_run_id = info["execution"]["runId"]
            if self.run_id is None:
                self.run_id = self._last_run_id
        return self._last_run_id

    def _execution(self, run_id: str | None = None) -> dict[str, str]:
        return {"workflowId": self.workflow_id, "runId": run_id or self._resolve_run_id()}

    def _target(self) -> dict[str, str]:
        """Request members naming the execution an operator call acts on."""
        params = {"domain": self.domain, "workflowId": self.workflow_id}
        if self._pinned and self.run_id:
            params["runId"] = self.run_id
        return params

    # ---------------------------------------------------------------- result

    def last_event(self, run_id: str | None = None) -> dict | None:
        """The newest history event of a run (one cheap call), or ``None`` for an empty history."""
        answer = self.swf.call("GetWorkflowExecutionHistory", domain=self.domain,
                               execution=self._execution(run_id), reverseOrder=True, maximumPageSize=1)
        events = answer.get("events") or []
        return events[0] if events else None

    def result(self, timeout: float | None = None) -> R:
        """Wait until the execution closes and return the workflow's result, converted back.

        Blocks the calling greenlet/thread on the client's shared result waiter
        (``greenflow._result_waiter``): one watcher per client learns which executions
        closed, for all waiting handles at once, so waiting costs a constant number of SWF
        calls per workflow however many handles wait (on a greenflow local service the
        watcher is woken by the service when executions close; on Amazon SWF it lists them
        once a second). Follows continue-as-new to the newest run.

        Args:
            timeout: real seconds to wait at most; ``None`` waits forever.

        Raises:
            WorkflowFailedError: the workflow raised; ``cause`` is its exception, rebuilt.
            WorkflowTimedOutError: it exceeded its execution start-to-close timeout.
            WorkflowTerminatedError: it was terminated.
            WorkflowCanceledError: it was cancelled and closed as CANCELED.
            ResultTimeoutError: ``timeout`` passed while the execution was still open.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run_id = self._resolve_run_id()
            event = self._known_close(run_id)
            if event is None:
                event = self._client._waiter.close_event(
                    self.workflow_id, run_id, started_at=self._started_at if run_id == self.run_id else None,
                    deadline=deadline)
            if event is None:
                raise errors.ResultTimeoutError(
                    f"workflow {self.workflow_id!r} (run {run_id}) is still open after {timeout} s")
            self._close = (run_id, event)
            new_run = continued_run(event)
            if new_run is not None:
                self._last_run_id = new_run
                continue
            return self._outcome(event, run_id)

    def _known_close(self, run_id: str) -> dict | None:
        """The close event of ``run_id`` if this handle already read it (e.g. in as_completed)."""
        close = self._close
        return close[1] if close is not None and close[0] == run_id else None

    def _outcome(self, event: dict, run_id: str) -> Any:
        attributes = event_attributes(event)
        converter = self.converter
        where = {"workflow_id": self.workflow_id, "run_id": run_id}
        kind = event["eventType"]
        if kind == "WorkflowExecutionCompleted":
            return converter.loads(attributes.get("result"))
        if kind == "WorkflowExecutionFailed":
            reason = attributes.get("reason") or ""
            cause = exception_from_failure(reason, attributes.get("details"), converter)
            raise errors.WorkflowFailedError(
                f"workflow {self.workflow_id!r} (run {run_id}) failed: {reason}: {cause}",
                reason=reason, cause=cause, **where)
        if kind == "WorkflowExecutionTimedOut":
            raise errors.WorkflowTimedOutError(
                f"workflow {self.workflow_id!r} (run {run_id}) timed out "
                f"({attributes.get('timeoutType', 'START_TO_CLOSE')})", **where)
        if kind == "WorkflowExecutionTerminated":
            reason = attributes.get("reason") or ""
            raise errors.WorkflowTerminatedError(
                f"workflow {self.workflow_id!r} (run {run_id}) was terminated"
                f" ({attributes.get('cause', 'OPERATOR_INITIATED')})" + (f": {reason}" if reason else ""),
                reason=reason, cause=attributes.get("cause") or "", **where)
        if kind == "WorkflowExecutionCanceled":
            raise errors.WorkflowCanceledError(
                f"workflow {self.workflow_id!r} (run {run_id}) was cancelled", **where)
        raise AssertionError(f"not a close event: {kind}")  # pragma: no cover

    def is_open(self) -> bool:
        """Whether the newest run of this workflow ID is still open (one or two calls)."""
        while True:
            event = self.last_event(self._resolve_run_id())
            if event is not None and event["eventType"] == "WorkflowExecutionContinuedAsNew":
                self._last_run_id = event_attributes(event)["newExecutionRunId"]
                continue
            return event is None or event["eventType"] not in CLOSE_EVENTS

    # ---------------------------------------------------------------- operator calls

    def signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Send signal ``name`` with ``args`` to the current open run (``@signal`` handler)."""
        text = _encode_args(self.converter, args, kwargs,
                            f"input of signal {name!r} to workflow {self.workflow_id!r}")
        self.swf.call("SignalWorkflowExecution", signalName=name, input=text, **self._target())

    def cancel(self) -> None:
        """Ask the execution to cancel (the workflow decides how: it may clean up first)."""
        self.swf.call("RequestCancelWorkflowExecution", **self._target())

    def terminate(self, reason: str | None = None, details: Any = None, child_policy: str | None = None) -> None:
        """Close the execution at once as TERMINATED (no workflow code runs).

        Args:
            reason: a short reason (≤256 characters) recorded in history.
            details: any value, converted and recorded in history.
            child_policy: ``TERMINATE``, ``REQUEST_CANCEL`` or ``ABANDON`` for open children.
        """
        params: dict[str, Any] = self._target()
        if reason is not None:
            params["reason"] = str(reason)[:256]
        if details is not None:
            params["details"] = check_size(details if isinstance(details, str)
                                           else self.converter.dumps(details),
                                           f"details of terminating {self.workflow_id!r}")
        if child_policy is not None:
            if child_policy not in CHILD_POLICIES:
                raise ValueError(f"child_policy must be one of {CHILD_POLICIES}, not {child_policy!r}")
            params["childPolicy"] = child_policy
        self.swf.call("TerminateWorkflowExecution", **params)

    def describe(self) -> dict:
        """SWF's ``DescribeWorkflowExecution`` answer for the newest known run."""
        return self.swf.call("DescribeWorkflowExecution", domain=self.domain,
                             execution=self._execution())

    def history(self, *, reverse: bool = False) -> list[dict]:
        """All history events of the newest known run, oldest first (or newest first)."""
        run_id = self._resolve_run_id()
        return list(self.swf.history(self.domain, self.workflow_id, run_id, reverse=reverse))

    def query(self, name: str, *args: Any, workflow_classes: Sequence[type] | None = None) -> Any:
        """Evaluate the ``@query`` method ``name`` on the workflow's state, by replaying its history.

        The history is read from SWF and replayed here, in this process, with the workflow
        code of today: no worker is involved and the execution is not touched. Works on
        open and closed executions. Only decided history is replayed (a decision in
        flight is left out), so a query never runs workflow code live nor a
        ``side_effect`` function. ``name`` ``"__stack_trace"``
        (:data:`greenflow.workflow.STACK_TRACE_QUERY`) is built in: for every live
        workflow greenlet, its ``file:line`` and what it awaits (a dict; see
        :class:`greenflow.workflow.StackTrace`).

        Args:
            workflow_classes: the workflow classes to replay with; by default the class the
                handle was started with, or the client's ``workflow_classes``.

        Raises:
            NonDeterministicWorkflowError: the code no longer matches the history.
            ValueError: the workflow class is unknown or has no query ``name``.
        """
        classes = list(workflow_classes or ())
        if not classes and self.workflow_class is not None:
            classes = [self.workflow_class]
        if not classes:
            classes = list(self._client.workflow_classes)
        if not classes:
            raise ValueError(f"query({name!r}): the handle does not know the workflow class; pass "
                             "workflow_classes=[MyWorkflow] or WorkflowClient(..., workflow_classes=[...])")
        from .workflow._decider import Decider
        decider = Decider(classes, cache_size=0, converter=self.converter)
        events = self.history()
        return decider.query(events, name, list(args), workflow_id=self.workflow_id, run_id=self._resolve_run_id())


# --------------------------------------------------------------------------- client


#: Starts one client keeps in flight at once on a greenflow local service (see
#: :class:`WorkflowClient`); more gained nothing there and held back decisions.
LOCAL_STARTS_IN_FLIGHT = 8


class WorkflowClient:
    """Starts executions in one domain and finds them again.

    Args:
        client: an :class:`greenflow.swf.SWFClient` (from :func:`greenflow.connect`) or a raw
            botocore ``swf`` client.
        domain: the SWF domain.
        task_list: the decision task list executions start on when neither the call nor
            ``workflow_options`` names one (else the workflow type's, else its registered
            default).
        converter: turns inputs and results into text (JSON by default).
        workflow_classes: classes :meth:`WorkflowHandle.query` may replay with.

    A client is also a *starter*: :meth:`start_workflow` is what ``Workflow.method(...)``
    calls inside ``with workflow_starter(...)`` or ``with worker:``.

    On a greenflow local service a client keeps at most :data:`LOCAL_STARTS_IN_FLIGHT`
    starts in flight at once; further ones wait in the client. The service answers one
    request at a time in arrival order, so a burst of starts sent together would only
    queue there, ahead of the decisions of the executions already started (a burst of 200
    one-timer workflows finishes about 15% later that way). Amazon SWF serves calls in
    parallel: there every start is sent at once.
    """

    def __init__(self, client: Any, domain: str, task_list: str | None = None, *,
                 converter: DataConverter | None = None, workflow_classes: Sequence[type] = ()):
        if not domain or not isinstance(domain, str):
            raise ValueError(f"domain must be a non-empty string, not {domain!r}")
        self.swf = _as_swf(client)
        self.domain = domain
        self.task_list = task_list
        self.converter = converter or DEFAULT_CONVERTER
        self.workflow_classes = tuple(workflow_classes)
        self._result_waiter: ResultWaiter | None = None
        self._waiter_lock = threading.Lock()
        self._start_slots: threading.BoundedSemaphore | None = None  # made on first use (see _slot)

    @property
    def _waiter(self) -> ResultWaiter:
        """The client's shared result waiter (created on first use)."""
        if self._result_waiter is None:
            with self._waiter_lock:
                if self._result_waiter is None:
                    self._result_waiter = ResultWaiter(self.swf, self.domain)
        return self._result_waiter

    def close(self) -> None:
        """Stop the client's result watcher now instead of after its idle linger (call before
        stopping the service it talks to; the client stays usable)."""
        if self._result_waiter is not None:
            self._result_waiter.stop()

    def __repr__(self) -> str:
        return f"<WorkflowClient domain={self.domain!r} task_list={self.task_list!r}>"

    # ---------------------------------------------------------------- start

    @overload
    def start(self, method: ClassStub[Any, R], *args: Any, workflow_id: str | None = None,
              task_list: str | None = None, tags: Sequence[str] | None = None,
              execution_start_to_close_timeout: int | str | None = None,
              task_start_to_close_timeout: int | str | None = None, task_priority: int | str | None = None,
              child_policy: str | None = None, **kwargs: Any) -> WorkflowHandle[R]: ...

    @overload
    def start(self, method: Any, *args: Any, workflow_id: str | None = None,
              task_list: str | None = None, tags: Sequence[str] | None = None,
              execution_start_to_close_timeout: int | str | None = None,
              task_start_to_close_timeout: int | str | None = None, task_priority: int | str | None = None,
              child_policy: str | None = None, **kwargs: Any) -> WorkflowHandle[Any]: ...

    def start(self, method: Any, *args: Any, workflow_id: str | None = None,
              task_list: str | None = None, tags: Sequence[str] | None = None,
              execution_start_to_close_timeout: int | str | None = None,
              task_start_to_close_timeout: int | str | None = None, task_priority: int | str | None = None,
              child_policy: str | None = None, **kwargs: Any) -> WorkflowHandle[Any]:
        """Start an execution of ``method``'s workflow type with ``args``/``kwargs``; return its handle.

        ``method`` is a workflow's ``@execute`` method (``OrderWorkflow.process``) or its
        ``WorkflowType`` (anything with ``name``, ``version`` and the default options).
        Options given here win over ``workflow_options(...)`` in effect,
        which win over the client's task list and the ``@execute`` decorator's values; what
        is still unset falls back to the type's registered defaults.

        Raises:
            PayloadTooLargeError: the converted input exceeds 32,768 characters.
            WorkflowExecutionAlreadyStartedError: an open execution has this workflow ID.
            DefaultUndefinedError: a timeout or task list is set nowhere.
        """
        workflow_type = _workflow_type_of(method)
        workflow_class = _workflow_class_of(method)
        _check_arguments(_execute_function(workflow_class, workflow_type), args, kwargs)
        started_at = time.monotonic()
        execution = self._start(workflow_type, args, kwargs, dict(
            workflow_id=workflow_id, task_list=task_list, tags=tags,
            execution_start_to_close_timeout=execution_start_to_close_timeout,
            task_start_to_close_timeout=task_start_to_close_timeout, task_priority=task_priority,
            child_policy=child_policy), self._converter_for(workflow_class))
        handle: WorkflowHandle[Any] = WorkflowHandle(self, execution[0], execution[1], workflow_class=workflow_class)
        handle._started_at = started_at
        return handle

    def start_workflow(self, workflow_type: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> WorkflowHandle[Any]:
        """The starter protocol (``greenflow.workflow._starter``): start with options from context."""
        workflow_class = self._class_for_type(workflow_type)
        _check_arguments(_execute_function(workflow_class, workflow_type), args, kwargs)
        started_at = time.monotonic()
        handle: WorkflowHandle[Any] = WorkflowHandle(
            self, *self._start(workflow_type, args, kwargs, {}, self._converter_for(workflow_class)),
            workflow_class=workflow_class)
        handle._started_at = started_at
        return handle

    def _class_for_type(self, workflow_type: Any) -> type | None:
        from .workflow._definition import workflow_types
        for cls in self.workflow_classes:
            if any(kind == workflow_type for kind in workflow_types(cls)):
                return cls
        return None

    def _converter_for(self, workflow_class: type | None) -> DataConverter:
        """The workflow's own converter (``@workflow(converter=...)``), else the client's."""
        definition = getattr(workflow_class, "_gf_definition", None)
        return getattr(definition, "converter", None) or self.converter

    def _start(self, workflow_type: Any, args: Sequence[Any], kwargs: dict[str, Any],
               explicit: dict[str, Any], converter: DataConverter) -> tuple[str, str]:
        options = _current_options()

        def pick(name: str, default: Any = None) -> Any:
            value = explicit.get(name)
            if value is None:
                value = options.get(name)
            return default if value is None else value

        workflow_id = pick("workflow_id") or str(uuid.uuid4())
        params: dict[str, Any] = {
            "domain": self.domain,
            "workflowId": workflow_id,
            "workflowType": {"name": workflow_type.name, "version": str(pick("version", workflow_type.version))},
        }
        task_list = pick("task_list", self.task_list or getattr(workflow_type, "task_list", None))
        if task_list:
            params["taskList"] = {"name": task_list}
        timeout = _duration(pick("execution_start_to_close_timeout",
                                 getattr(workflow_type, "execution_start_to_close_timeout", None)),
                            "execution_start_to_close_timeout")
        if timeout is not None:
            params["executionStartToCloseTimeout"] = timeout
        timeout = _duration(
            pick("task_start_to_close_timeout", getattr(workflow_type, "task_start_to_close_timeout", None)),
            "task_start_to_close_timeout")
        if timeout is not None:
            params["taskStartToCloseTimeout"] = timeout
        priority = pick("task_priority", getattr(workflow_type, "task_priority", None))
        if priority is not None:
            params["taskPriority"] = str(int(priority))
        policy = pick("child_policy", getattr(workflow_type, "child_policy", None))
        if policy is not None:
            if policy not in CHILD_POLICIES:
                raise ValueError(f"child_policy must be one of {CHILD_POLICIES}, not {policy!r}")
            params["childPolicy"] = policy
        tags = pick("tags")
        if tags:
            tags = [str(tag) for tag in tags]
            if len(tags) > 5:
                raise ValueError(f"SWF allows at most 5 tags per execution, not {len(tags)}: {tags}")
            params["tagList"] = tags
        what = f"input of workflow {workflow_type.name} ({workflow_id})"
        params["input"] = _encode_args(converter, args, kwargs, what)
        _check_rebuildable(converter, params["input"], what)
        self._waiter.prime()
        # A workflow worker of this process that decides this type gets the run's first
        # decision task in the start's answer (no poll round trip).
        decider = self._local_decider(params["workflowType"])
        eager = self.swf.headers(decider.eager_request()) if decider is not None else contextlib.nullcontext()
        with self._slot(), eager:
            answer = self.swf.call("StartWorkflowExecution", **params)
        if decider is not None:
            decider.take_handed_over(answer)
        log.debug("started %s %s/%s", workflow_type.name, workflow_id, answer["runId"])
        return workflow_id, answer["runId"]

    def _slot(self) -> Any:
        """What a start holds while in flight: one of :data:`LOCAL_STARTS_IN_FLIGHT` slots on
        a greenflow local service, nothing elsewhere. Made on first use, by when a gevent
        program has patched ``threading`` (a semaphore of real threads would block its hub)."""
        if not getattr(self.swf, "greenflow_service", None):
            return contextlib.nullcontext()
        if self._start_slots is None:
            with self._waiter_lock:
                if self._start_slots is None:
                    self._start_slots = threading.BoundedSemaphore(LOCAL_STARTS_IN_FLIGHT)
        return self._start_slots

    def _local_decider(self, workflow_type: dict[str, str]) -> Any:
        """A workflow worker of this process, on this client and domain, that decides
        ``workflow_type`` and takes handed-over tasks now; ``None`` if there is none or the
        client's transport cannot carry the task (see ``greenflow._extensions``)."""
        deciders = getattr(self.swf, "deciders", None)
        if not deciders or not getattr(self.swf, "direct", False):
            return None
        for decider in list(deciders):
            if decider.domain == self.domain and decider.decides(workflow_type["name"], workflow_type["version"]) \
                    and decider.takes_started_tasks():
                return decider
        return None

    def get_handle(self, workflow_id: str, run_id: str | None = None, *, pin: bool = False,
                   workflow_class: type | None = None) -> WorkflowHandle[Any]:
        """A handle on an existing execution (no call is made until it is used).

        Without ``run_id`` the handle means the newest run of ``workflow_id``. With
        ``pin=True`` signals, cancels and terminations go to exactly ``run_id``.
        """
        return WorkflowHandle(self, workflow_id, run_id, workflow_class=workflow_class,
                              pinned=pin and run_id is not None)

    # ---------------------------------------------------------------- listing

    def list_open(self, *, workflow_id: str | None = None, workflow_type: Any = None, tag: str | None = None,
                  started_after: float = 0, started_before: float | None = None,
                  limit: int | None = None, reverse: bool = False) -> Iterator[dict]:
        """Open executions, newest first, as SWF ``WorkflowExecutionInfo`` dicts.

        At most one of ``workflow_id``, ``workflow_type`` (a name, ``(name, version)`` or an
        ``@execute`` method) and ``tag`` may be given (an SWF rule). Times are epoch seconds.
        """
        params = self._filters(workflow_id, workflow_type, tag, None)
        params["startTimeFilter"] = _time_filter(started_after, started_before)
        return self._paged("ListOpenWorkflowExecutions", params, limit, reverse)

    def list_closed(self, *, workflow_id: str | None = None, workflow_type: Any = None, tag: str | None = None,
                    close_status: str | None = None, started_after: float | None = None,
                    started_before: float | None = None, closed_after: float | None = None,
                    closed_before: float | None = None, limit: int | None = None,
                    reverse: bool = False) -> Iterator[dict]:
        """Closed executions, newest first; filters as :meth:`list_open`, plus ``close_status``.

        Filter on start time or on close time, not both (an SWF rule); with neither, all
        executions started since the epoch.
        """
        if close_status is not None and close_status not in CLOSE_STATUSES:
            raise ValueError(f"close_status must be one of {CLOSE_STATUSES}, not {close_status!r}")
        params = self._filters(workflow_id, workflow_type, tag, close_status)
        if closed_after is not None or closed_before is not None:
            if started_after is not None or started_before is not None:
                raise ValueError("filter closed executions on start time or on close time, not both")
            params["closeTimeFilter"] = _time_filter(closed_after or 0, closed_before)
        else:
            params["startTimeFilter"] = _time_filter(started_after or 0, started_before)
        return self._paged("ListClosedWorkflowExecutions", params, limit, reverse)

    def count_open(self, **filters: Any) -> int:
        """How many executions are open (same filters as :meth:`list_open`, no paging)."""
        params = self._filters(filters.get("workflow_id"), filters.get("workflow_type"), filters.get("tag"), None)
        params["startTimeFilter"] = _time_filter(filters.get("started_after", 0), filters.get("started_before"))
        return self.swf.call("CountOpenWorkflowExecutions", **params)["count"]

    def count_closed(self, **filters: Any) -> int:
        """How many executions are closed (same filters as :meth:`list_closed` on start time)."""
        params = self._filters(filters.get("workflow_id"), filters.get("workflow_type"), filters.get("tag"),
                               filters.get("close_status"))
        params["startTimeFilter"] = _time_filter(filters.get("started_after", 0), filters.get("started_before"))
        return self.swf.call("CountClosedWorkflowExecutions", **params)["count"]

    def _filters(self, workflow_id: Any, workflow_type: Any, tag: Any, close_status: Any) -> dict:
        given = [name for name, value in (("workflow_id", workflow_id), ("workflow_type", workflow_type),
                                          ("tag", tag), ("close_status", close_status)) if value is not None]
        if len(given) > 1:
            raise ValueError(f"SWF accepts one filter at a time; got {', '.join(given)}")
        params: dict[str, Any] = {"domain": self.domain}
        if workflow_id is not None:
            params["executionFilter"] = {"workflowId": workflow_id}
        elif workflow_type is not None:
            if isinstance(workflow_type, str):
                params["typeFilter"] = {"name": workflow_type}
            elif isinstance(workflow_type, tuple):
                params["typeFilter"] = {"name": workflow_type[0], "version": workflow_type[1]}
            else:
                kind = _workflow_type_of(workflow_type)
                params["typeFilter"] = {"name": kind.name, "version": kind.version}
        elif tag is not None:
            params["tagFilter"] = {"tag": tag}
        elif close_status is not None:
            params["closeStatusFilter"] = {"status": close_status}
        return params

    def _paged(self, operation: str, params: dict, limit: int | None, reverse: bool) -> Iterator[dict]:
        if reverse:
            params["reverseOrder"] = True
        count = 0
        while True:
            if limit is not None:
                params["maximumPageSize"] = min(1000, max(1, limit - count))
            answer = self.swf.call(operation, **params)
            for info in answer.get("executionInfos") or []:
                yield info
                count += 1
                if limit is not None and count >= limit:
                    return
            token = answer.get("nextPageToken")
            if not token:
                return
            params["nextPageToken"] = token

    def _latest_execution(self, workflow_id: str) -> dict | None:
        """The open run of ``workflow_id``, else its most recently started closed run."""
        for operation in ("ListOpenWorkflowExecutions", "ListClosedWorkflowExecutions"):
            answer = self.swf.call(operation, domain=self.domain, startTimeFilter={"oldestDate": 0},
                                   executionFilter={"workflowId": workflow_id}, maximumPageSize=1)
            infos = answer.get("executionInfos") or []
            if infos:
                return infos[0]
        return None


def _time_filter(oldest: float, latest: float | None) -> dict:
    window: dict[str, Any] = {"oldestDate": oldest}
    if latest is not None:
        window["latestDate"] = latest
    return window


# --------------------------------------------------------------------------- many handles

#: ``wait(..., return_when=...)``: return as soon as one execution closed.
FIRST_COMPLETED = "FIRST_COMPLETED"
#: ``wait(..., return_when=...)``: return when every execution closed (the default).
ALL_COMPLETED = "ALL_COMPLETED"


def as_completed(handles: Iterable[WorkflowHandle[R]],
                 timeout: float | None = None) -> Generator[WorkflowHandle[R], None, None]:
    """Yield each handle once its execution closed (the last run, after continue-as-new), in
    the order they close; ``handle.result()`` then returns (or raises) without waiting.

    All handles wait on their clients' shared result waiters: the cost in SWF calls is a
    constant per workflow, however many handles there are.

    Raises:
        ResultTimeoutError: ``timeout`` real seconds passed before all closed.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    pending = list(dict.fromkeys(handles))
    closed: queue.Queue[WorkflowHandle[R]] = queue.Queue()
    releases: dict[int, Callable[[], dict | None]] = {}

    def watch(handle: WorkflowHandle[R]) -> None:
        run_id = handle._resolve_run_id()
        if handle._known_close(run_id) is not None:
            closed.put(handle)
            return
        releases[id(handle)] = handle._client._waiter.watch(
            handle.workflow_id, run_id, lambda: closed.put(handle),
            started_at=handle._started_at if run_id == handle.run_id else None)

    try:
        for handle in pending:
            watch(handle)
        for _ in range(len(pending)):
            while True:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    handle = closed.get(timeout=left)
                except queue.Empty:
                    raise errors.ResultTimeoutError(
                        f"{sum(1 for h in pending if h._close is None or continued_run(h._close[1]))} "
                        f"of {len(pending)} workflows still open after {timeout} s") from None
                release = releases.pop(id(handle), None)
                run_id = handle._resolve_run_id()
                event = release() if release is not None else handle._known_close(run_id)
                assert event is not None
                handle._close = (run_id, event)
                new_run = continued_run(event)
                if new_run is None:
                    break
                handle._last_run_id = new_run  # follow the chain; wait for the new run
                watch(handle)
            yield handle
    finally:
        for release in releases.values():
            release()


def wait(handles: Iterable[WorkflowHandle[R]], timeout: float | None = None,
         return_when: str = ALL_COMPLETED) -> tuple[set[WorkflowHandle[R]], set[WorkflowHandle[R]]]:
    """Wait for executions to close; returns ``(done, not_done)`` sets of handles.

    ``return_when`` is :data:`ALL_COMPLETED` (the default) or :data:`FIRST_COMPLETED`. When
    ``timeout`` real seconds pass first, returns what is done by then (no error), like
    :func:`concurrent.futures.wait`. Results are read with ``handle.result()``, which then
    returns without waiting.
    """
    if return_when not in (ALL_COMPLETED, FIRST_COMPLETED):
        raise ValueError(f"return_when must be ALL_COMPLETED or FIRST_COMPLETED, not {return_when!r}")
    pending = set(handles)
    done: set[WorkflowHandle[R]] = set()
    completed = as_completed(pending, timeout)
    try:
        for handle in completed:
            done.add(handle)
            if return_when == FIRST_COMPLETED:
                break
    except errors.ResultTimeoutError:
        pass
    finally:
        completed.close()
    return done, pending - done


@contextlib.contextmanager
def workflow_starter(client: Any, domain: str, task_list: str | None = None,
                     **options: Any) -> Iterator[WorkflowClient]:
    """Within the block, calling a workflow's ``@execute`` method starts an execution.

    The call returns a :class:`WorkflowHandle` at once (it does not wait for the result)::

        with workflow_starter(swf, "orders", "deciders"):
            handle = OrderWorkflow.process(42)

    Yields the :class:`WorkflowClient` used, for signals and listing.
    """
    from .workflow._starter import use_starter
    starter = WorkflowClient(client, domain, task_list, **options)
    with use_starter(starter):
        yield starter
