"""The workflow the determinism fuzz test drives (``tests/workflow/test_determinism_fuzz.py``).

It uses what makes replay hard: spawned activities, timers, ``wait_any``/``wait_until``
with timeouts, signal handlers that block, ``side_effect`` (counted here, per process),
``version``, ``random``, cancellation with a shielded cleanup, and a query. The fuzz test
imports this module alone in a fresh process too, so it must not import other test code.
"""

from __future__ import annotations

import collections

from greenflow.activity import activities, activity
from greenflow.errors import ActivityTaskFailedError, CancelledError
from greenflow.workflow import (DEFAULT_VERSION, WorkflowDefinition, execute, query, random, shield, side_effect,
                                signal, spawn, start_timer, version, wait_any, wait_until)

#: How often each side effect's function ran in this process, by tag.
SIDE_EFFECTS: collections.Counter = collections.Counter()


def _effect(tag: str):
    def run() -> str:
        SIDE_EFFECTS[tag] += 1
        return tag
    return run


@activities(start_to_close_timeout=60, schedule_to_start_timeout=60)
class FuzzActs:
    """Never run: the fuzz test answers them in history."""

    @activity(version="1.0")
    def step(self, n: int) -> int:
        return n

    @activity(version="1.0")
    def cleanup(self) -> int:
        return 0


class FuzzWorkflow(WorkflowDefinition):
    """Rounds of parallel activities raced against a timer, steered by signals."""

    def __init__(self):
        self.total = 0
        self.stop = False

    @execute(version="1.0", execution_start_to_close_timeout=36000)
    def run(self, rounds: int) -> int:
        try:
            bonus = 1 if version("fuzz-bonus", DEFAULT_VERSION, 1) == 1 else 0
            for i in range(rounds):
                futures = [spawn(FuzzActs.step, i * 10 + k) for k in range(1 + int(random() * 3))]
                timer = start_timer(5 + i)
                wait_any(futures + [timer])
                side_effect(_effect("main"))
                for future in futures:
                    try:
                        self.total += future.result() + bonus
                    except ActivityTaskFailedError:
                        self.total -= 1
                if not timer.done():
                    timer.cancel()
                if wait_until(lambda: self.stop, timeout=3):
                    break
            return self.total
        except CancelledError:
            with shield():
                self.total += FuzzActs.cleanup()
            raise
        finally:
            side_effect(_effect("finally"))

    @signal()
    def add(self, n: int) -> None:
        side_effect(_effect("signal"))
        self.total += n
        if n % 2:
            self.total += FuzzActs.step(n)

    @signal()
    def stop_now(self) -> None:
        self.stop = True

    @query()
    def state(self) -> dict:
        return {"total": self.total, "stop": self.stop}
