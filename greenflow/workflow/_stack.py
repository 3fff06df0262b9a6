"""Stack traces of a replayed run: where each live workflow greenlet stands, and what it awaits.

After a run has been fed its *decided* history (see :meth:`WorkflowRun.stack_trace`), every
workflow greenlet still alive is suspended at a blocking call. For each one this module
reads the greenlet's suspended frames (``greenlet.gr_frame``) to find the innermost line
of user code, and the hub's record of what the greenlet blocked on (the futures it waits
for, or a ``wait_until`` predicate) to say what it awaits: an activity (id and type), a
timer (id and duration), a child workflow, a signal or cancel request sent to another
execution, another greenlet, or a condition.

The result is plain data (dataclasses with ``to_dict()``), so the built-in query
:data:`STACK_TRACE_QUERY` can return it over any wire, and ``greenflow describe`` and the
console show the same thing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ._hub import WorkflowGreenlet, frame_is_internal

#: The built-in query every workflow answers: ``handle.query(STACK_TRACE_QUERY)``.
STACK_TRACE_QUERY = "__stack_trace"


@dataclasses.dataclass(frozen=True)
class Awaited:
    """One thing a blocked workflow greenlet waits for.

    Attributes:
        kind: ``"activity"``, ``"timer"``, ``"child"``, ``"signal_external"``,
            ``"cancel_external"``, ``"greenlet"`` (a spawned function's future),
            ``"condition"`` (a ``wait_until`` predicate) or ``"future"`` (anything else).
        description: one line for people (``activity Orders.ship version 1.0 id=3``).
        id: the command ID (activity ID, timer ID, child workflow ID), if any.
        type: ``"name version"`` of the activity or child workflow type, if any.
        seconds: a timer's duration, in whole seconds.
        location: ``file:line`` where the awaited thing was started (the call that made
            the command, or the predicate's definition for a condition).
    """

    kind: str
    description: str
    id: str | None = None
    type: str | None = None
    seconds: int | None = None
    location: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """This entry as JSON-ready data."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class GreenletStack:
    """One live workflow greenlet.

    Attributes:
        name: ``@execute Cls.method``, ``@signal name`` or ``spawn(function)``.
        role: ``"main"``, ``"signal"`` or ``"spawn"``.
        location: ``file:line`` of the innermost user-code frame (where the code blocked),
            or ``"<not started>"`` for a greenlet that has not run yet.
        function: the name of the function holding that line.
        frames: ``file:line in function`` of every user-code frame, outermost first.
        awaiting: what it waits for (several entries for ``wait_all``/``wait_any``).
    """

    name: str
    role: str
    location: str
    function: str
    frames: tuple[str, ...]
    awaiting: tuple[Awaited, ...]

    def to_dict(self) -> dict[str, Any]:
        """This greenlet as JSON-ready data."""
        return {"name": self.name, "role": self.role, "location": self.location, "function": self.function,
                "frames": list(self.frames), "awaiting": [a.to_dict() for a in self.awaiting]}


@dataclasses.dataclass(frozen=True)
class StackTrace:
    """Every live workflow greenlet of a run, after replaying its decided history.

    Attributes:
        workflow_id, run_id: the execution.
        workflow_type: ``"name version"``, or None if history has not started the workflow.
        last_event_id: the last history event replayed.
        closed: the history closed the run (no greenlet is left then).
        greenlets: the live greenlets, main first, then in the order they were created.
    """

    workflow_id: str
    run_id: str
    workflow_type: str | None
    last_event_id: int
    closed: bool
    greenlets: tuple[GreenletStack, ...]

    def to_dict(self) -> dict[str, Any]:
        """The trace as JSON-ready data (what the built-in query returns)."""
        return {"workflow_id": self.workflow_id, "run_id": self.run_id, "workflow_type": self.workflow_type,
                "last_event_id": self.last_event_id, "closed": self.closed,
                "greenlets": [g.to_dict() for g in self.greenlets]}

    def format(self) -> str:
        """The trace as text, one block per greenlet (for terminals and logs)."""
        lines = [f"workflow {self.workflow_id} run {self.run_id} ({self.workflow_type or 'not started'}), "
                 f"after event {self.last_event_id}" + (" (closed)" if self.closed else "")]
        for g in self.greenlets:
            lines.append(f"  {g.name} at {g.location} in {g.function}()")
            for a in g.awaiting:
                lines.append(f"    awaits {a.description}")
        return "\n".join(lines)


def collect(run: Any) -> StackTrace:
    """The :class:`StackTrace` of ``run`` as it stands now (its greenlets suspended)."""
    live = [g for g in run.hub.live if not g.dead]
    live.sort(key=lambda g: g.serial)
    info = run.info
    return StackTrace(
        workflow_id=run.workflow_id, run_id=run.run_id,
        workflow_type=f"{info.workflow_type[0]} {info.workflow_type[1]}" if info else None,
        last_event_id=run.last_event_id, closed=run.closed,
        greenlets=tuple(_greenlet_stack(g) for g in live if g.role != "query"))


def _greenlet_stack(g: WorkflowGreenlet) -> GreenletStack:
    frames = []
    frame = g.gr_frame
    while frame is not None:
        if not frame_is_internal(frame):
            frames.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
            if not frames[1:]:
                location = f"{frame.f_code.co_filename}:{frame.f_lineno}"
                function = frame.f_code.co_name
        frame = frame.f_back
    if not frames:
        location, function = "<not started>", getattr(g.function, "__name__", "?")
    return GreenletStack(name=g.gf_name, role=g.role, location=location, function=function,
                         frames=tuple(reversed(frames)), awaiting=tuple(_awaited(g)))


def _awaited(g: WorkflowGreenlet) -> list[Awaited]:
    waiting = g.waiting_on
    if waiting is None:
        return []
    futures, predicate = waiting
    found = []
    if predicate is not None:
        name, location = _callable_location(predicate)
        found.append(Awaited("condition", f"condition {name} (defined at {location})", location=location))
    for future in futures:
        if not future.done():
            found.append(_future_awaited(future))
    return found


def _future_awaited(future: Any) -> Awaited:
    source = future.source
    if isinstance(source, WorkflowGreenlet):
        return Awaited("greenlet", source.gf_name)
    kind = getattr(source, "kind", None)
    location = getattr(source, "location", None) or None
    if kind == "activity":
        return Awaited("activity", f"activity {source.name} version {source.version} id={source.id}", id=source.id,
                       type=f"{source.name} {source.version}", location=location)
    if kind == "timer":
        return Awaited("timer", f"timer {source.seconds}s id={source.id}", id=source.id, seconds=source.seconds,
                       location=location)
    if kind == "child":
        return Awaited("child", f"child workflow {source.name} version {source.version} workflowId={source.id}",
                       id=source.id, type=f"{source.name} {source.version}", location=location)
    if kind == "signal":
        return Awaited("signal_external", f"signal {source.signal_name} to {source.workflow_id} delivered",
                       id=source.id, location=location)
    if kind == "cancel_external":
        return Awaited("cancel_external", f"cancel request to {source.workflow_id} delivered", id=source.id,
                       location=location)
    return Awaited("future", future.description)


def _callable_location(function: Any) -> tuple[str, str]:
    """``(qualified name, file:line)`` of a predicate (a lambda, a function or a method)."""
    name = getattr(function, "__qualname__", None) or repr(function)
    code = getattr(function, "__code__", None) or getattr(getattr(function, "__func__", None), "__code__", None)
    if code is None:
        return name, "<unknown>"
    return name, f"{code.co_filename}:{code.co_firstlineno}"
