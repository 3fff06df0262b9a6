"""Workers survive a service outage: the service stops and comes back on the same port and
database; the workers log, back off, resume, and the execution completes."""

from __future__ import annotations

import logging

from greenflow.local import LocalService
from greenflow.testing import LocalTestEnvironment, wait_until
from greenflow.workflow import WorkflowDefinition, execute, signal, wait_until as workflow_wait_until


class OutageWorkflow(WorkflowDefinition):
    def __init__(self):
        self.value = None

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> str:
        workflow_wait_until(lambda: self.value is not None)
        return f"got {self.value}"

    @signal()
    def give(self, value: str) -> None:
        self.value = value


def test_workflow_worker_survives_a_service_restart(tmp_path, caplog):
    db = str(tmp_path / "swf.db")
    first = LocalService(db, poll_timeout=1.0).start()
    port = first.port
    service = first
    try:
        with LocalTestEnvironment(service=first) as env:
            worker = env.workflow_worker(OutageWorkflow)
            handle = env.client().start(OutageWorkflow.run)
            wait_until(lambda: handle.describe()["openCounts"]["openDecisionTasks"] == 0, what="first decision")
            answered = worker.tasks_completed
            with caplog.at_level(logging.WARNING, logger="greenflow.workflow_worker"):
                first.stop()
                wait_until(lambda: "not answering" in caplog.text, timeout=30, what="the outage to be logged")
                service = LocalService(db, port=port, poll_timeout=1.0).start()
                handle.signal("give", "through")
                assert handle.result(timeout=30) == "got through"
                # Each poller that saw the outage says so once it is over.
                wait_until(lambda: "answers again" in caplog.text, timeout=30, what="the recovery to be logged")
            # The worker counts a task once SWF's answer reaches it, which may be after the
            # client already saw the execution close: wait for it rather than race it.
            wait_until(lambda: worker.tasks_completed > answered, timeout=30, what="the worker to count the task")
    finally:
        service.stop()
