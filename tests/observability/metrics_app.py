"""A workflow and activities for the metrics tests (also run by ``greenflow worker`` processes)."""

from __future__ import annotations

from greenflow import errors
from greenflow.activity import activities, activity
from greenflow.workflow import WorkflowDefinition, execute


@activities(schedule_to_start_timeout=60, start_to_close_timeout=60)
class Shelf:
    @activity(version="1.0")
    def pick(self, item: str) -> str:
        if item == "missing":
            raise LookupError(f"no {item} on the shelf")
        return f"picked {item}"


class PickWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=60)
    def run(self, items: list) -> list:
        picked = []
        for item in items:
            try:
                picked.append(Shelf.pick(item))
            except errors.ActivityTaskFailedError:
                picked.append(None)
        return picked
