"""Safety nets for determinism: clocks, randomness, threads and sockets refused in workflow code.

Each unsafe call is made the way users write it (``import time``, ``from datetime import
datetime``...); the first run must fail its decision task with an error naming this file's
line and the workflow API to use instead.
"""

from __future__ import annotations

import datetime
import os
import random
import socket
import threading
import time
import uuid
from datetime import date
from datetime import datetime as DateTime
from random import choice
from time import time as time_time

import pytest

import greenflow.workflow as wf
from greenflow import errors

from .history import kinds, make
from .workflows import Acts

THIS_FILE = os.path.basename(__file__)

UNSAFE = {
    "time.time": (lambda: time.time(), "time.time()", "greenflow.workflow.now()"),
    "from time import time": (lambda: time_time(), "time.time()", "greenflow.workflow.now()"),
    "time.monotonic": (lambda: time.monotonic(), "time.monotonic()", "greenflow.workflow.now()"),
    "datetime.datetime.now": (lambda: datetime.datetime.now(), "datetime.now()", "greenflow.workflow.now()"),
    "from datetime import datetime": (lambda: DateTime.utcnow(), "datetime.utcnow()", "greenflow.workflow.now()"),
    "date.today": (lambda: date.today(), "date.today()", "now().date()"),
    "random.random": (lambda: random.random(), "random.random()", "greenflow.workflow.random()"),
    "from random import choice": (lambda: choice("ab"), "random.choice()", "greenflow.workflow.random()"),
    "uuid.uuid4": (lambda: uuid.uuid4(), "uuid.uuid4()", "greenflow.workflow.uuid4()"),
    "os.urandom": (lambda: os.urandom(4), "os.urandom()", "greenflow.workflow.random() or side_effect()"),
    "threading.Thread": (lambda: threading.Thread(target=print), "threading.Thread()", "greenflow.workflow.spawn()"),
    "socket.create_connection": (lambda: socket.create_connection(("127.0.0.1", 9)), "socket.create_connection()",
                                 "an activity"),
}


def unsafe_workflow(call, swallow=False):
    class Unsafe(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                value = call()
            except errors.NonDeterministicCallError:
                if not swallow:
                    raise
                value = None
            return Acts.add(1, 2) if value is None else "used it"

    return Unsafe


@pytest.mark.parametrize("how", sorted(UNSAFE))
def test_unsafe_call_fails_the_first_decision_naming_the_line_and_the_replacement(how):
    call, what, instead = UNSAFE[how]
    _, _, sim = make(unsafe_workflow(call))
    with pytest.raises(errors.NonDeterministicCallError) as caught:
        sim.step()
    message = str(caught.value)
    assert message.startswith(f"GF-NONDETERMINISTIC-CALL: workflow code called {what} at ")
    assert f"{THIS_FILE}:" in caught.value.location and caught.value.call == what
    assert instead in message and "allow_unsafe_calls()" in message


def test_swallowing_the_error_still_fails_the_decision_task():
    _, _, sim = make(unsafe_workflow(UNSAFE["time.time"][0], swallow=True))
    with pytest.raises(errors.NonDeterministicCallError):
        sim.step()


def test_allow_unsafe_calls_and_side_effect_let_code_that_knows_through():
    class Knows(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            with wf.allow_unsafe_calls():
                started = time.time()  # for a log line only
            stamp = wf.side_effect(lambda: time.time())  # recorded: replays read it back
            assert isinstance(DateTime(2030, 1, 1), DateTime)  # construction and isinstance are fine
            return Acts.add(int(started > 0), int(stamp > 0))

    _, _, sim = make(Knows)
    assert kinds(sim.step()) == ["RecordMarker", "ScheduleActivityTask"]


def test_outside_workflow_code_the_real_functions_are_in_place():
    _, _, sim = make(unsafe_workflow(UNSAFE["time.time"][0]))
    with pytest.raises(errors.NonDeterministicCallError):
        sim.step()
    # Swapped back once the hub handed control back: this module's names are the real ones.
    assert time.__class__ is type(os) and time.time is time_time
    assert DateTime is datetime.datetime and type(DateTime.now()) is datetime.datetime
    assert random.random.__self__ is not None  # the bound method of random's hidden instance


def test_a_replay_of_a_clean_workflow_is_unaffected():
    class Clean(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.sleep(5)
            return Acts.add(wf.now().year, int(wf.random() * 10))

    _, _, sim = make(Clean)
    assert kinds(sim.step()) == ["StartTimer"]
