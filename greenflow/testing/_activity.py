"""``ActivityEnvironment``: unit-test one activity, heartbeats and cancellation included, without a service."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..activity._context import ActivityContext, _enter, _leave
from ..activity._definition import activity_types
from ..converter import DEFAULT_CONVERTER, DataConverter, check_size
from ..errors import DefinitionError


class ActivityEnvironment:
    """Runs an activity method the way an activity worker does, with no SWF service.

    Inside :meth:`run`, :func:`greenflow.activity.context` returns an
    :class:`~greenflow.activity.ActivityContext` and :func:`greenflow.activity.heartbeat`
    records its details in :attr:`heartbeats` (after converting them as the worker would,
    so details that would not reach SWF fail here too). :meth:`cancel` plays the workflow
    requesting cancellation: the activity's next heartbeat raises
    :class:`~greenflow.errors.CancelledError`, as it would under a worker::

        env = ActivityEnvironment()
        env.on_heartbeat = lambda details: env.cancel() if details >= 3 else None
        with pytest.raises(CancelledError):
            env.run(Downloads().fetch, "https://example.com/big")
        assert env.heartbeats == [1, 2, 3] and env.cancelled

    Args:
        workflow_id, run_id, activity_id, domain, task_list: what the context reports.
        converter: the converter for activities that name none (default JSON).
    """

    def __init__(self, *, workflow_id: str = "test-workflow", run_id: str = "test-run",
                 activity_id: str = "test-activity", domain: str = "test", task_list: str = "test",
                 converter: DataConverter | None = None):
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.activity_id = activity_id
        self.domain = domain
        self.task_list = task_list
        self.converter = converter or DEFAULT_CONVERTER
        #: The details of every heartbeat, in order (``None`` for a heartbeat without).
        self.heartbeats: list[Any] = []
        #: Called with each heartbeat's details (in the activity's greenlet or thread).
        self.on_heartbeat: Callable[[Any], None] | None = None
        #: The context of the last :meth:`run` (``None`` before the first).
        self.context: ActivityContext | None = None
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Request cancellation: the activity's next heartbeat raises ``CancelledError``."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether a heartbeat of the last run learned of the cancellation request."""
        return self.context is not None and self.context.cancel_requested

    def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``function(*args, **kwargs)`` as an activity and return its result.

        ``function`` is an ``@activity`` method of an ``@activities`` instance (its name,
        version and converter are used) or any callable. The result must convert and fit
        SWF's limit, as the worker requires; exceptions (``CancelledError`` included)
        propagate.
        """
        name, version, converter = self._describe(function)
        context = ActivityContext(
            task_token=f"test-token-{len(self.heartbeats)}", activity_id=self.activity_id,
            activity_type=(name, version), workflow_id=self.workflow_id, run_id=self.run_id, domain=self.domain,
            task_list=self.task_list, converter=converter, _call=self._call)
        self.context = context
        token = _enter(context)
        try:
            result = function(*args, **kwargs)
        finally:
            _leave(token)
        if result is not None and not context.manual:
            check_size(converter.dumps(result), f"result of activity {name}")
        return result

    def _describe(self, function: Callable[..., Any]) -> tuple[str, str, DataConverter]:
        owner = getattr(function, "__self__", None)
        if owner is not None:
            try:
                pairs = activity_types(owner)
            except DefinitionError:
                pairs = []
            for kind, method in pairs:
                if getattr(method, "__func__", None) is getattr(function, "__func__", function):
                    return kind.name, str(kind.version), getattr(kind, "converter", None) or self.converter
        return getattr(function, "__qualname__", "activity"), "test", self.converter

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """What the worker's SWF client would do: here only heartbeats reach it."""
        if operation != "RecordActivityTaskHeartbeat":  # pragma: no cover - the context only heartbeats
            raise NotImplementedError(f"ActivityEnvironment does not emulate {operation}")
        raw = params.get("details")
        assert self.context is not None
        details = None if raw is None else self.context.converter.loads(raw)
        self.heartbeats.append(details)
        if self.on_heartbeat is not None:
            self.on_heartbeat(details)
        return {"cancelRequested": self._cancel.is_set()}


__all__ = ["ActivityEnvironment"]
