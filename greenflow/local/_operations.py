"""The local SWF service's core: one object that answers all 39 operations.

It composes three parts, each with one job, all sharing one :class:`~.storage._store.Store`:

* :class:`~._registry.Registry` – domains, workflow and activity types, resource tags;
* :class:`~.engine.Engine` – executions, history, decision and activity tasks, timers,
  timeouts, signals, cancellation, children, long polls;
* :class:`~._visibility.Visibility` – listing and counting executions.

Each part has one method per operation it owns, named like the operation in snake case
(``RegisterDomain`` → ``register_domain``), taking the request's (already validated)
parameters and returning the response members. The HTTP layer validates requests
against botocore's service model before calling :meth:`Operations.handle`.

Everything here runs in the service's single gevent hub thread.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping

from .._extensions import (CLOSE_EVENTS_HEADER, EAGER_ACTIVITIES_HEADER, EAGER_ACTIVITY_TASKS_MEMBER,
                           EAGER_DECISION_HEADER, EAGER_DECISION_TASK_MEMBER, MAX_EAGER_ACTIVITIES)

from ._clock import Clock, SystemClock
from ._registry import Registry
from ._visibility import Visibility
from .engine import Engine
from .engine._handover import Handover
from .storage._checkpoint import IdleCheckpointer
from .storage._store import Store
from .wire._faults import Fault
from .wire._http import EXTENSION_OPERATION

Handler = Callable[[dict], dict]


def method_name(operation: str) -> str:
    """The Python method name of an SWF operation: ``PollForDecisionTask`` → ``poll_for_decision_task``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


#: The calls whose answer may hand over a decision task eagerly: a start, the answers to an
#: activity task, a decision's answer (which may hand over activity tasks too).
EAGER_DECISION_AFTER = frozenset({"StartWorkflowExecution", "RespondActivityTaskCompleted",
                                  "RespondActivityTaskFailed", "RespondActivityTaskCanceled",
                                  "RespondDecisionTaskCompleted"})


def _json_header(value: str) -> Any:
    """A header's JSON value, or ``None`` when it is not JSON (the request is then ignored)."""
    try:
        return json.loads(value)
    except ValueError:
        return None


class Operations:
    """All of SWF's operations on one store and one clock.

    Args:
        store: the SQLite store.
        clock: where SWF time comes from (timeouts, timers, timestamps); the wall clock
            unless a virtual clock is given (tests).
        poll_timeout: how long a long poll waits for a task, in real seconds (SWF: 60).
        region: the region named in ARNs.
        account_id: the account named in ARNs.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock | None = None,
        *,
        poll_timeout: float = 60.0,
        region: str = "us-east-1",
        account_id: str = "000000000000",
    ):
        self.store = store
        self.clock = clock or SystemClock()
        self.registry = Registry(store, self.clock, region=region, account_id=account_id)
        self.engine = Engine(store, self.clock, self.registry, poll_timeout=poll_timeout)
        self.visibility = Visibility(store, self.clock, self.registry)
        self._handlers: dict[str, Handler] = {}
        for part in (self.registry, self.engine, self.visibility):
            for operation in part.OPERATIONS:
                if operation in self._handlers:
                    raise RuntimeError(f"operation {operation} is implemented twice")
                self._handlers[operation] = getattr(part, method_name(operation))
        # greenflow's read-only extension (waiting pollers), not an SWF operation.
        self._handlers[EXTENSION_OPERATION] = self.engine.describe_task_lists
        self.checkpointer = IdleCheckpointer(store)
        self._stopped = False

    @property
    def operations(self) -> frozenset[str]:
        """The names of the operations this service implements."""
        return frozenset(self._handlers)

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Answer one request; raises :class:`~.wire._faults.Fault` for anything SWF answers as a fault.

        Long polls block here (cooperatively, on gevent) until a task comes or they time out.
        """
        handler = self._handlers.get(operation)
        if handler is None:
            raise Fault("UnknownOperationException", f"Unknown operation {operation!r}",
                        namespace="com.amazon.coral.service")
        return handler(params)

    def hold_until_closed(self, params: dict[str, Any], hold: tuple[float, int]) -> None:
        """Before a ``ListClosedWorkflowExecutions`` by close time: wait up to ``hold[0]``
        seconds while at most ``hold[1]`` executions of its domain closed at or after its
        ``closeTimeFilter.oldestDate`` (``greenflow._extensions.CLOSE_WAIT_HEADER``). Returns
        at once for any other request shape; the listing itself reports any fault in it."""
        window = params.get("closeTimeFilter")
        oldest = window.get("oldestDate") if isinstance(window, dict) else None
        domain = params.get("domain")
        if not isinstance(oldest, (int, float)) or isinstance(oldest, bool) or not isinstance(domain, str) \
                or self.registry.domain(domain) is None:
            return
        seconds, counted = hold
        self.engine.core.closes.hold(self.store, domain, float(oldest), counted, seconds,
                                     stopping=lambda: self._stopped)

    def answer(self, operation: str, params: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        """Answer one request as :meth:`handle` does, with the greenflow extensions its
        ``headers`` ask for (``greenflow._extensions``): tasks handed over in the answer
        (claimed in the request's own unit of work; a malformed request for them is ignored),
        the closing event of each listed execution."""
        handover = self._handover(operation, headers)
        if handover:
            answer = self._handlers[operation](params, handover)  # type: ignore[call-arg]
            if handover.decision_task is not None:
                answer = dict(answer, **{EAGER_DECISION_TASK_MEMBER: handover.decision_task})
            if handover.activity_tasks:
                answer = dict(answer, **{EAGER_ACTIVITY_TASKS_MEMBER: handover.activity_tasks})
        else:
            answer = self.handle(operation, params)
        if operation == "ListClosedWorkflowExecutions" and CLOSE_EVENTS_HEADER in headers:
            self.visibility.attach_close_events(params["domain"], answer)
        return answer

    @staticmethod
    def _handover(operation: str, headers: Mapping[str, str]) -> Handover | None:
        """The eager tasks a request's headers ask for, or ``None``."""
        decision = headers.get(EAGER_DECISION_HEADER) if operation in EAGER_DECISION_AFTER else None
        activities = headers.get(EAGER_ACTIVITIES_HEADER) if operation == "RespondDecisionTaskCompleted" else None
        if decision is None and activities is None:
            return None
        return Handover(None if decision is None else _json_header(decision),
                        None if activities is None else _json_header(activities),
                        max_activities=MAX_EAGER_ACTIVITIES)

    def start(self) -> None:
        """Start the background work (timeout scheduler, idle checkpoints); call from the
        service's hub thread."""
        self.engine.start()
        self.checkpointer.start()

    def advance_time(self, seconds: float) -> None:
        """Move a virtual clock forward and fire every timer and timeout now due (tests)."""
        self.engine.advance_time(seconds)

    def stop(self) -> None:
        """Stop background work and wake waiting polls with empty answers, keeping the store
        open so requests still in flight can finish (the HTTP layer calls this first)."""
        if not self._stopped:
            self._stopped = True
            self.checkpointer.stop()
            self.engine.stop()

    def close(self) -> None:
        """Stop background work, wake waiting polls with empty answers, close the store."""
        self.stop()
        self.store.close()
