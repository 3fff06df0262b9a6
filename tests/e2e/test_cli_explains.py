"""``greenflow describe`` and ``query`` explain a run; every command takes the same flags.

Against a real local service with real workers (in-process ``main()`` calls, and real
processes where a pipe or the log output matters).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from greenflow.activity import activities, activity
from greenflow.cli import main
from greenflow.workflow import WorkflowDefinition, execute, query, signal, wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE = "tests.e2e.test_cli_explains"


class Approval(WorkflowDefinition):
    def __init__(self) -> None:
        self.approver: str | None = None

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, amount: int) -> str:
        wait_until(lambda: self.approver is not None)  # WAITS-FOR-APPROVAL
        return f"{amount} approved by {self.approver}"

    @signal()
    def approve(self, name: str) -> None:
        self.approver = name

    @query()
    def state(self) -> dict:
        return {"approver": self.approver}


@activities(task_list="nobody-polls-this", schedule_to_start_timeout=3600, start_to_close_timeout=60)
class Unpolled:
    @activity(version="1.0")
    def ship(self, order: str) -> str:
        return order


class Ships(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, order: str) -> str:
        return Unpolled.ship(order)


class Fails(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> None:
        raise ValueError("the order has no items")


def cli(env, *argv):
    command, *rest = argv
    return main([command, "--endpoint", env.service.endpoint, "--domain", env.domain, *rest])


def test_describe_a_run_waiting_for_a_signal_says_where_the_code_is_blocked(env, capsys):
    env.workflow_worker(Approval)
    handle = env.client().start(Approval.run, 120, workflow_id="approval-1")
    wait_until_decided(handle)
    capsys.readouterr()
    assert cli(env, "describe", "approval-1") == 0
    out = capsys.readouterr().out
    assert "status:       OPEN" in out and "nothing is scheduled: the workflow waits for a signal" in out
    assert "pass --module MODULE" in out
    assert cli(env, "describe", "approval-1", "--module", MODULE) == 0
    out = capsys.readouterr().out
    assert "blocked:      @execute Approval.run at " in out and "test_cli_explains.py:" in out
    assert "awaits " in out and "condition" in out

    assert cli(env, "query", "approval-1", "state", "--module", MODULE) == 0
    assert json.loads(capsys.readouterr().out) == {"approver": None}
    assert cli(env, "signal", "approval-1", "approve", "--input", '"alice"') == 0
    assert handle.result(timeout=20) == "120 approved by alice"
    capsys.readouterr()
    assert cli(env, "describe", "approval-1", "--json") == 0
    described = json.loads(capsys.readouterr().out)
    assert described["close"]["event"] == "WorkflowExecutionCompleted"
    assert described["close"]["result"] == "120 approved by alice"
    assert described["signals_received"][0]["name"] == "approve"
    assert described["signals_received"][0]["input"] == {"args": ["alice"]}


def wait_until_decided(handle):
    from greenflow.testing import wait_until as wait
    wait(lambda: any(e["eventType"] == "DecisionTaskCompleted" for e in handle.history()), what="a decision")


def test_describe_a_pending_activity_no_worker_polls(env, capsys):
    env.workflow_worker(Ships)
    env.activity_worker(Unpolled(), start=False).register_types()  # registered, but nobody polls
    handle = env.client().start(Ships.run, "order-7", workflow_id="ships-1")
    from greenflow.testing import wait_until as wait
    wait(lambda: any(e["eventType"] == "ActivityTaskScheduled" for e in handle.history()), what="the activity")
    capsys.readouterr()
    assert cli(env, "describe", "ships-1") == 0
    out = capsys.readouterr().out
    assert "activity:     Unpolled.ship 1.0 id=1 attempt 1 on task list 'nobody-polls-this': waiting" in out
    # The local service tells which task lists have polls waiting (SWF's API cannot), so
    # describe says plainly that nobody polls this one, rather than asking.
    assert ("task list 'nobody-polls-this' has 1 task(s) waiting for a worker: no activity worker is polling "
            "'nobody-polls-this' in this domain now: start one for this task list") in out
    assert cli(env, "describe", "ships-1", "--json") == 0
    described = json.loads(capsys.readouterr().out)
    assert described["pollers"]["known"] is True
    assert described["pollers"]["waiting"].get("nobody-polls-this", 0) == 0


def test_describe_a_failed_run_gives_its_reason_and_details(env, capsys):
    env.workflow_worker(Fails)
    handle = env.client().start(Fails.run, workflow_id="fails-1")
    from greenflow import errors
    try:
        handle.result(timeout=20)
    except errors.WorkflowFailedError:
        pass
    capsys.readouterr()
    assert cli(env, "describe", "fails-1") == 0
    out = capsys.readouterr().out
    assert "status:       FAILED" in out and "closed by:    WorkflowExecutionFailed" in out
    assert "reason: ValueError" in out and "the order has no items" in out


def test_input_means_the_same_on_start_signal_and_query_and_is_checked(env, capsys):
    env.workflow_worker(Approval)
    for text in ('[5]', '{"args": [5]}', '5'):
        assert cli(env, "start", f"{MODULE}:Approval.run", "--input", text, "--task-list", env.task_list) == 0
    assert cli(env, "start", f"{MODULE}:Approval.run", "--input", '["a", "b"]') == 2
    err = capsys.readouterr().err
    assert "--input: " in err and "Approval.run(self, amount: int) -> str cannot take these arguments" in err
    for text in ('["bob"]', '{"args": ["bob"]}', '"bob"'):
        client = env.client()
        handle = client.start(Approval.run, 1)
        assert cli(env, "signal", handle.workflow_id, "approve", "--input", text) == 0
        assert handle.result(timeout=20) == "1 approved by bob"


def test_global_options_after_the_command_and_json_everywhere(env, capsys):
    env.workflow_worker(Approval)
    env.client().start(Approval.run, 3, workflow_id="flags-1")
    capsys.readouterr()
    # --log-level, --endpoint and --domain after the command, or before it.
    assert main(["list", "--json", "--log-level", "INFO", "--endpoint", env.service.endpoint,
                 "--domain", env.domain]) == 0
    assert json.loads(capsys.readouterr().out)[0]["execution"]["workflowId"] == "flags-1"
    assert main(["--log-level", "INFO", "--endpoint", env.service.endpoint, "--domain", env.domain,
                 "history", "flags-1", "--json"]) == 0
    saved = json.loads(capsys.readouterr().out)
    assert saved["events"][0]["eventType"] == "WorkflowExecutionStarted"
    assert cli(env, "describe", "flags-1", "--json") == 0
    assert json.loads(capsys.readouterr().out)["describe"]["executionInfo"]["executionStatus"] == "OPEN"


def test_piping_into_head_prints_no_traceback(env, tmp_path):
    env.workflow_worker(Approval, start=False).register_types()
    client = env.client(task_list=env.task_list)
    for index in range(250):  # about 100 KB of JSON: more than a pipe holds, so the writer meets a closed pipe
        client.start(Approval.run, index, workflow_id=f"pipe-{index}")
    variables = dict(os.environ, PYTHONPATH=REPO)
    pipeline = (f"{sys.executable} -m greenflow list --json --limit 1000 --endpoint {env.service.endpoint} "
                f"--domain {env.domain} | head -c 10")
    result = subprocess.run(["bash", "-c", pipeline], env=variables, capture_output=True, text=True, timeout=60,
                            cwd=REPO)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert result.stdout.startswith("[")


@activities(schedule_to_start_timeout=60, start_to_close_timeout=60)
class Flaky:
    @activity(version="1.0")
    def charge(self, amount: int) -> int:
        raise RuntimeError(f"card declined for {amount}")


class Charges(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> int:
        return Flaky.charge(5)


def test_the_activity_failed_warning_names_the_workflow(env, caplog):
    env.workflow_worker(Charges)
    env.activity_worker(Flaky())
    handle = env.client().start(Charges.run, workflow_id="charges-1")
    from greenflow import errors
    with caplog.at_level("WARNING", logger="greenflow.activity"):
        try:
            handle.result(timeout=20)
        except errors.WorkflowFailedError:
            pass
    warning = next(r.getMessage() for r in caplog.records if "failed: RuntimeError" in r.getMessage())
    assert warning.startswith(f"activity Flaky.charge (version 1.0, id 1) of workflow charges-1 (run {handle.run_id})")
