"""Record histories from the local service with real workers into tests/workflow/histories/.

Run by hand when the workflows of tests/workflow/workflows.py change on purpose:
``python -m tests.workflow.record_histories``. The saved files are replayed by
``test_replay.py::test_saved_histories_replay``: histories written by the real engine
(event order, batching, timestamps) must replay against today's code.
"""

from __future__ import annotations

import datetime
import json
import pathlib

from gevent import monkey

monkey.patch_all()

from greenflow.testing import LocalTestEnvironment  # noqa: E402

from .workflows import Acts, Child, Parallel, Parent, Sequential, Signals, Sleeper  # noqa: E402

HISTORIES = pathlib.Path(__file__).parent / "histories"


def _json(value):
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    raise TypeError(type(value))


def save(handle, name: str) -> None:
    events = handle.history()
    payload = {"workflowExecution": {"workflowId": handle.workflow_id, "runId": handle.run_id}, "events": events}
    (HISTORIES / f"local_{name}.json").write_text(json.dumps(payload, default=_json, indent=1))


def main() -> None:
    HISTORIES.mkdir(exist_ok=True)
    with LocalTestEnvironment() as env:
        env.workflow_worker(Sequential, Parallel, Signals, Parent, Child, Sleeper)
        env.activity_worker(Acts(), task_list="acts")
        client = env.client()
        with env.auto_time_skipping():
            runs = {
                "sequential": client.start(Sequential.run, 3),
                "parallel": client.start(Parallel.run, 5),
                "parent": client.start(Parent.run, 4),
                "sleeper": client.start(Sleeper.run, 30),
            }
            signals = client.start(Signals.run, 2)
            signals.signal("add", "a")
            signals.signal("slow", "b")
            runs["signals"] = signals
            for name, handle in runs.items():
                print(name, handle.result(timeout=30))
                save(handle, name)


if __name__ == "__main__":
    main()
