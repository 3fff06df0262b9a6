"""What a request asked to have handed over in its answer: greenflow's eager tasks.

A worker that also runs the tasks its own calls create may ask, in request headers
(``greenflow._extensions``), for them to come back in the answer instead of through a poll:
the first decision task of the run it starts, the decision task an activity answer
schedules, the activity tasks its decisions schedule, and the decision task that follows a
decision (the deciding run's own, when events came during the decision). The engine claims
those tasks in the unit of work of the request itself, so a start, a decision or an
activity answer and the claims it brings are one transaction, and a task handed over this
way is never offered on its task list (no poll is woken for it). A decision task already
waiting on the task list (of any run) is claimed in the decision's unit too, and withdrawn
from its queue once that commits. Activity tasks of other runs already waiting on the task
list the engine claims afterwards, each in its own unit, exactly as a poll would, without
waiting for one.

A :class:`Handover` goes in with the request and comes out with the tasks claimed for it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Handover", "eager_request"]


def eager_request(request: Any) -> tuple[str, str | None] | None:
    """``(task list, identity)`` of a request for eager tasks (a header's decoded JSON
    object), or ``None`` if it is not one."""
    if not isinstance(request, dict):
        return None
    task_list, identity = request.get("taskList"), request.get("identity")
    if not isinstance(task_list, str) or not task_list or not (identity is None or isinstance(identity, str)):
        return None
    return task_list, identity


class Handover:
    """The eager tasks one request asked for, and those claimed for it.

    Args:
        decision: the decoded JSON of a request for a decision task (``{"taskList": name,
            "identity": text}``), or ``None``.
        activities: the decoded JSON of a request for activity tasks (also ``"max"``), or ``None``.
        max_activities: the most activity tasks one answer may carry.

    Attributes:
        decision: ``(task list, identity)`` asked for a decision task, or ``None`` (also when
            the request was malformed: it is then ignored).
        activities: ``(task list, identity, how many)`` asked for activity tasks, or ``None``.
        decision_task: the decision task claimed for the request (a ``PollForDecisionTask``
            answer), or ``None``.
        activity_tasks: the activity tasks claimed for it (``PollForActivityTask`` answers).
    """

    __slots__ = ("decision", "activities", "decision_task", "activity_tasks")

    def __init__(self, decision: Any = None, activities: Any = None, *, max_activities: int = 100):
        self.decision = eager_request(decision)
        wanted = eager_request(activities)
        count = activities.get("max") if wanted is not None else None
        if wanted is None or isinstance(count, bool) or not isinstance(count, int) or count < 1:
            self.activities: tuple[str, str | None, int] | None = None
        else:
            self.activities = (wanted[0], wanted[1], min(count, max_activities))
        self.decision_task: dict | None = None
        self.activity_tasks: list[dict] = []

    def __bool__(self) -> bool:
        """Whether anything (well-formed) was asked for."""
        return self.decision is not None or self.activities is not None

    def activities_wanted(self) -> int:
        """How many more activity tasks the request may still be handed."""
        return 0 if self.activities is None else self.activities[2] - len(self.activity_tasks)
