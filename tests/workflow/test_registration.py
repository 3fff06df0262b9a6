"""Dataclasses decode in workflow code because the code names them, not because a worker exists."""

from __future__ import annotations

import dataclasses
import enum

from greenflow.activity import activities, activity
from greenflow.converter import JSONConverter
from greenflow.workflow import Decider, WorkflowDefinition, execute, signal, wait_until

from .history import History, Sim, attrs, result_of


@dataclasses.dataclass(frozen=True)
class Parcel:
    weight: int


class Speed(enum.Enum):
    SLOW = "slow"
    FAST = "fast"


@activities(start_to_close_timeout=60)
class Post:
    @activity(version="1.0")
    def weigh(self) -> Parcel:
        return Parcel(3)


class Ships(WorkflowDefinition):
    def __init__(self):
        self.speed: Speed | None = None

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> str:
        parcel = Post.weigh()
        wait_until(lambda: self.speed is not None)
        return f"{type(parcel).__name__} {parcel.weight} {self.speed.value}"

    @signal()
    def choose(self, speed: Speed) -> None:
        self.speed = speed


def test_a_workers_own_converter_decodes_the_types_its_workflows_and_activities_name():
    converter = JSONConverter()  # nothing registered, and no ActivityWorker is ever built
    decider = Decider([Ships], converter=converter)
    history = History("Ships", "1.0")
    sim = Sim(decider, history)
    sim.step()
    history.complete_activity("1", raw=JSONConverter(types=[Parcel]).dumps(Parcel(3)))
    history.add("WorkflowExecutionSignaled", signalName="choose", input=JSONConverter(types=[Speed]).dumps(
        {"args": [Speed.FAST]}))
    history.schedule_decision()
    (close,) = sim.step().decisions
    assert close["decisionType"] == "CompleteWorkflowExecution", attrs(close)
    assert result_of(close) == "Parcel 3 fast"
