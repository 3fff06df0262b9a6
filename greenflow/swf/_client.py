"""``SWFClient``: a thin wrapper over botocore's ``swf`` client.

It adds what every part of greenflow needs and botocore does not give: greenflow
exceptions instead of ``ClientError``, bounded retries with backoff, decision-task pages
merged into one task, history paging, and idempotent registration.

Calls to a greenflow local service go through :class:`~._direct.DirectTransport` (the same
model, exceptions and signer as botocore, without its per-call cost) when the client's
``transport`` allows: ``"direct"`` from the first call (the embedded service), ``"auto"``
once the endpoint has named itself a greenflow service in an answer, ``"botocore"`` never
(Amazon SWF).
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import logging
import re
import threading
from typing import Any, Iterator, Mapping

from botocore.exceptions import ClientError

from .. import __version__
from .._extensions import SERVICE_HEADER
from ..errors import DomainAlreadyExistsError, SWFError, TypeAlreadyExistsError
from ..interceptors import Interceptor, SWFCall, active, intercept, notify
from ._direct import DirectTransport
from ._errors import call_with_retry
from ._retry import NO_RETRY, CallRetryPolicy

log = logging.getLogger("greenflow.swf")

_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")

#: How a client reaches its endpoint (see the module doc).
TRANSPORTS = ("direct", "auto", "botocore")

# Extra request headers for the calls made inside ``SWFClient.headers(...)``.
_request_headers: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "greenflow_swf_request_headers", default=None)
_HOOKED_ATTRIBUTE = "_greenflow_request_headers_hooked"


def _add_request_headers(request: Any, **_: Any) -> None:
    # botocore's before-send hook, installed once per botocore client by SWFClient.headers().
    headers = _request_headers.get()
    if headers:
        for name, value in headers.items():
            request.headers[name] = value


def _api_name(operation: str) -> str:
    """``poll_for_decision_task`` or ``PollForDecisionTask`` → ``PollForDecisionTask``."""
    if "_" in operation or operation[:1].islower():
        return "".join(part.capitalize() for part in operation.split("_"))
    return operation


def _duration(value: Any) -> str | None:
    """SWF's duration string for seconds (``30`` → ``"30"``); ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"a timeout must be a number of seconds >= 0 or 'NONE', not {value!r}")
    return str(int(value))


def _compact(params: dict) -> dict:
    return {key: value for key, value in params.items() if value is not None}


class SWFClient:
    """SWF, through botocore, with greenflow's errors, retries and paging.

    Get one with :func:`greenflow.connect`; every worker and client takes one. It is safe
    to share between greenlets and threads (botocore clients are).

    Attributes:
        botocore: the underlying botocore ``swf`` client.
        endpoint: the URL it talks to.
        local_service: the embedded local service it started, or ``None``.
        retry: the retry policy for throttling and outages.
        interceptors: :class:`~greenflow.interceptors.Interceptor` objects whose
            ``swf_call`` hook wraps every call (after the process-wide ones).
        calls: how many calls of each operation this client made (retries not counted);
            for benchmarks and tests.
    """

    def __init__(self, botocore_client: Any, *, local_service: Any = None, retry: CallRetryPolicy | None = None,
                 transport: str = "botocore"):
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}, not {transport!r}")
        self.botocore = botocore_client
        self.transport = transport
        self._direct: DirectTransport | None = None
        self.local_service = local_service
        self.retry = retry or CallRetryPolicy()
        self._ensured: set[tuple] = set()
        self._methods: dict[str, tuple[str, Any]] = {}
        self.calls: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self.interceptors: list[Interceptor] = []
        #: Workflow workers of this process on this client that take decision tasks handed
        #: over by a greenflow service (they add themselves while running): a start made
        #: through this client asks for the new run's first decision task for one of them.
        #: Each has ``domain``, ``decides(name, version)``, ``takes_started_tasks()``,
        #: ``eager_request()`` (the request header) and ``take_handed_over(answer)``.
        self.deciders: list[Any] = []
        # What the endpoint said it is: a greenflow service name, "" for a service that
        # answered without the header (Amazon SWF), None until the first answer.
        self._service: str | None = f"local/{__version__}" if local_service is not None else None
        if transport == "direct":
            self._use_direct()

    def __repr__(self) -> str:
        return f"<SWFClient {self.endpoint}>"

    @property
    def endpoint(self) -> str:
        """The endpoint URL this client sends requests to."""
        return self.botocore.meta.endpoint_url

    @property
    def region(self) -> str:
        """The region the client signs for."""
        return self.botocore.meta.region_name

    @property
    def greenflow_service(self) -> str | None:
        """The greenflow local service the endpoint is (its ``x-greenflow-service`` header,
        e.g. ``"local/0.1.0"``), or ``None`` for another service (Amazon SWF) or before any
        answer came back."""
        return self._service or None

    @property
    def cancels_polls_safely(self) -> bool:
        """Whether a long poll this client abandons (its connection closed mid-poll) is
        cancelled by the service instead of being handed a task nobody will read.

        True for a greenflow local service (the embedded one, or an endpoint that named
        itself so in an answer): it notices the hang-up and withdraws the poll. False for
        Amazon SWF, which may still give the abandoned poll a task, lost until its timeout;
        workers there must let open polls return before stopping. False as well until the
        endpoint has answered once (assume the worst).
        """
        return bool(self._service)

    @property
    def direct(self) -> bool:
        """Whether calls now go through the direct transport rather than botocore's machinery."""
        return self._direct is not None

    def _use_direct(self) -> None:
        with self._lock:
            if self._direct is None:
                self._direct = DirectTransport(self.botocore)

    def _learn_service(self, metadata: Any) -> None:
        # Remember, from the first answer, which kind of service the endpoint is.
        if self._service is None and isinstance(metadata, dict):
            headers = metadata.get("HTTPHeaders")
            if isinstance(headers, dict):
                self._service = str(headers.get(SERVICE_HEADER, "") or "")
                if self._service and self.transport == "auto" and DirectTransport.speaks_to(self.endpoint):
                    self._use_direct()

    def shaped_as(self, operation: str, answer: dict[str, Any]) -> dict[str, Any]:
        """An answer a greenflow extension carried (say a decision task inside another call's
        answer), made what ``operation``'s own answer would be: timestamps as datetimes.

        Extension members only come through the direct transport; botocore's answers are
        already shaped, and returned as they are."""
        if self._direct is None:
            return answer
        return self._direct.shape_as_answer(_api_name(operation), answer)

    @contextlib.contextmanager
    def headers(self, headers: Mapping[str, str]) -> Iterator[None]:
        """Send ``headers`` with every call made inside the block (in this thread or greenlet).

        For greenflow's wire extensions (:mod:`greenflow._extensions`), which only a
        greenflow service reads; both transports send them.
        """
        if self._direct is None and not getattr(self.botocore, _HOOKED_ATTRIBUTE, False):
            self.botocore.meta.events.register("before-send.swf", _add_request_headers)
            setattr(self.botocore, _HOOKED_ATTRIBUTE, True)
        reset = _request_headers.set(dict(headers))
        try:
            yield
        finally:
            _request_headers.reset(reset)

    # ----------------------------------------------------------------- calls

    def call(self, operation: str, **params: Any) -> dict:
        """Call an SWF operation by name (``"StartWorkflowExecution"`` or ``"start_workflow_execution"``).

        Returns the response without botocore's ``ResponseMetadata``. Raises the
        :class:`~greenflow.errors.SWFError` subclass for the fault (``code`` and
        ``operation`` set, the ``ClientError`` as ``__cause__``), after retrying throttling,
        server errors and connection failures per :attr:`retry`.
        """
        return self._call(operation, params, self.retry)

    def call_once(self, operation: str, **params: Any) -> dict:
        """:meth:`call` without retries: the first throttling, server or connection error is
        raised (for background calls that would rather stop than insist)."""
        return self._call(operation, params, NO_RETRY)

    def _call(self, operation: str, params: dict[str, Any], retry: CallRetryPolicy) -> dict:
        # Name resolution once per operation name, not per call (a hot path: every poll,
        # answer and start goes through here).
        resolved = self._methods.get(operation)
        if resolved is None:
            api = _api_name(operation)
            if api not in self.botocore.meta.service_model.operation_names:
                raise ValueError(f"SWF has no operation {operation!r}")
            resolved = self._methods[operation] = (api, getattr(self.botocore, _to_method(api)))
        api, method = resolved
        self.calls[api] += 1

        def send() -> dict:
            direct = self._direct
            try:
                if direct is not None:
                    response = direct.call(api, params, _request_headers.get())
                else:
                    response = method(**params)
            except ClientError as error:  # a fault is an answer too: it names the service
                if self._service is None:
                    self._learn_service(error.response.get("ResponseMetadata"))
                raise
            metadata = response.pop("ResponseMetadata", None)
            if self._service is None:
                self._learn_service(metadata)
            return response

        hooks = active(self.interceptors)
        if not hooks:
            return call_with_retry(retry, api, send)

        def retried(error: SWFError, attempt: int, delay: float) -> None:
            notify(hooks, "swf_retry", api, error, attempt, delay)

        # ``send`` reads ``params``, the very dict the hooks see: a hook may change members.
        return intercept(hooks, "swf_call", SWFCall(api, params),
                         lambda: call_with_retry(retry, api, send, on_retry=retried))

    def poll_for_decision_task(self, **params: Any) -> dict | None:
        """Long-poll for a decision task; all its history pages merged into ``events``.

        Blocks up to about 60 s. Returns ``None`` when the poll ends without a task.
        """
        task = self.call("PollForDecisionTask", **params)
        if not task.get("taskToken"):
            return None
        events = list(task.get("events", ()))
        token = task.pop("nextPageToken", None)
        while token:
            # Further pages come from PollForDecisionTask itself, answered at once; they
            # belong to this task and do not start a new one.
            page = self.call("PollForDecisionTask", **params, nextPageToken=token)
            events.extend(page.get("events", ()))
            token = page.get("nextPageToken")
        task["events"] = events
        return task

    def poll_for_activity_task(self, **params: Any) -> dict | None:
        """Long-poll for an activity task; ``None`` when the poll ends without one (about 60 s)."""
        task = self.call("PollForActivityTask", **params)
        return task if task.get("taskToken") else None

    def history(self, domain: str, workflow_id: str, run_id: str, *, reverse: bool = False,
                page_size: int | None = None) -> Iterator[dict]:
        """Iterate over an execution's history events, fetching pages as needed."""
        params = _compact({"domain": domain, "execution": {"workflowId": workflow_id, "runId": run_id},
                           "reverseOrder": reverse or None, "maximumPageSize": page_size})
        token = None
        while True:
            page = self.call("GetWorkflowExecutionHistory", **params, **({"nextPageToken": token} if token else {}))
            yield from page.get("events", ())
            token = page.get("nextPageToken")
            if not token:
                return

    # ----------------------------------------------------------------- registration

    def ensure_domain(self, name: str, retention_days: int | str = 30, description: str | None = None) -> bool:
        """Register domain ``name`` unless it exists; returns whether this call registered it."""
        key = ("domain", name)
        if key in self._ensured:
            return False
        try:
            self.call("RegisterDomain", **_compact({
                "name": name, "workflowExecutionRetentionPeriodInDays": str(retention_days),
                "description": description}))
            created = True
            log.info("registered SWF domain %s", name)
        except DomainAlreadyExistsError:
            created = False
        self._ensured.add(key)
        return created

    def ensure_workflow_type(self, domain: str, workflow_type: Any, *, task_list: str | None = None) -> bool:
        """Register a workflow type from its spec (``name``, ``version``, defaults) unless it exists.

        ``task_list`` is the default task list used when the spec names none (the worker's).
        Returns whether this call registered it; an existing type whose registered defaults
        differ from the spec is logged as a warning (SWF keeps the registered ones).
        """
        spec = workflow_type
        config = _compact({
            "defaultTaskStartToCloseTimeout": _duration(getattr(spec, "task_start_to_close_timeout", None)),
            "defaultExecutionStartToCloseTimeout": _duration(
                getattr(spec, "execution_start_to_close_timeout", None)),
            "defaultTaskList": _task_list(getattr(spec, "task_list", None) or task_list),
            "defaultTaskPriority": _priority(getattr(spec, "task_priority", None)),
            "defaultChildPolicy": getattr(spec, "child_policy", None),
        })
        return self._ensure_type("WorkflowType", "workflowType", domain, spec, config)

    def ensure_activity_type(self, domain: str, activity_type: Any, *, task_list: str | None = None) -> bool:
        """Register an activity type from its spec (``name``, ``version``, defaults) unless it exists.

        Same rules as :meth:`ensure_workflow_type`.
        """
        spec = activity_type
        config = _compact({
            "defaultTaskStartToCloseTimeout": _duration(getattr(spec, "start_to_close_timeout", None)),
            "defaultTaskHeartbeatTimeout": _duration(getattr(spec, "heartbeat_timeout", None)),
            "defaultTaskScheduleToStartTimeout": _duration(getattr(spec, "schedule_to_start_timeout", None)),
            "defaultTaskScheduleToCloseTimeout": _duration(getattr(spec, "schedule_to_close_timeout", None)),
            "defaultTaskList": _task_list(getattr(spec, "task_list", None) or task_list),
            "defaultTaskPriority": _priority(getattr(spec, "task_priority", None)),
        })
        return self._ensure_type("ActivityType", "activityType", domain, spec, config)

    def _ensure_type(self, kind: str, member: str, domain: str, spec: Any, config: dict) -> bool:
        name, version = spec.name, str(spec.version)
        key = (kind, domain, name, version)
        if key in self._ensured:
            return False
        description = getattr(spec, "description", None)
        try:
            self.call(f"Register{kind}", domain=domain, name=name, version=version,
                      **_compact({"description": description}), **config)
            created = True
            log.info("registered SWF %s %s %s in %s", kind, name, version, domain)
        except TypeAlreadyExistsError:
            created = False
            self._warn_if_different(kind, member, domain, name, version, config)
        self._ensured.add(key)
        return created

    def _warn_if_different(self, kind: str, member: str, domain: str, name: str, version: str,
                           config: dict) -> None:
        try:
            described = self.call(f"Describe{kind}", domain=domain, **{member: {"name": name, "version": version}})
        except SWFError:
            return  # only a courtesy check
        registered = described.get("configuration", {})
        different = {key: (registered.get(key), value) for key, value in config.items()
                     if registered.get(key) != value}
        if different:
            log.warning("%s %s %s is already registered in %s with other defaults %s; SWF keeps the "
                        "registered ones (register a new version to change them)",
                        kind, name, version, domain,
                        ", ".join(f"{k}={old!r} (code says {new!r})" for k, (old, new) in different.items()))

    def close(self) -> None:
        """Close the client's connections (the embedded service stops at exit)."""
        if self._direct is not None:
            self._direct.close()
        close = getattr(self.botocore, "close", None)
        if close is not None:
            close()


def _to_method(api: str) -> str:
    return _SNAKE.sub("_", api).lower()


def _task_list(name: str | None) -> dict | None:
    return {"name": name} if name else None


def _priority(value: Any) -> str | None:
    return None if value is None else str(int(value))


__all__ = ["SWFClient"]
