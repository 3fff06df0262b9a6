"""History alone decides (issue 8): end to end on the local service, with real workers.

Each test fails on a runtime whose decisions depend on process state (modules imported,
workers constructed, cache evictions, queries) rather than on the history and the
workflow's own code.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import subprocess
import sys

import pytest

from greenflow import errors
from greenflow.testing import wait_until as wait_for
from tests.e2e import determinism_app as app
from tests.replay_decisions import decisions_per_task

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _json_default(value):
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    raise TypeError(repr(value))


def replay_in_fresh_process(handle, module: str, tmp_path, subprocess_env, absent: tuple[str, ...] = ()) -> dict:
    """Decide every decision task of ``handle``'s history again in a new process importing only ``module``."""
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"workflowExecution": {"workflowId": handle.workflow_id, "runId": handle.run_id},
                                "events": handle.history()}, default=_json_default))
    env = dict(subprocess_env, GREENFLOW_ABSENT=",".join(absent))
    done = subprocess.run([sys.executable, os.path.join(REPO, "tests", "replay_decisions.py"), module, str(path)],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# --------------------------------------------------------------------------- 1. process state


def test_failure_class_and_retry_decision_do_not_depend_on_loaded_modules(env, tmp_path, subprocess_env):
    sys.modules.pop("tests.e2e.lazy_errors", None)
    env.workflow_worker(app.PayWorkflow)
    env.activity_worker(app.Payments())  # imports tests.e2e.lazy_errors in this process when it fails
    handle = env.client().start(app.PayWorkflow.run, 5)
    # The workflow does not import the class, so it sees a RemoteException; the name
    # recorded in history still makes it non-retryable: one attempt, no timer.
    assert handle.result(timeout=20) == "gave up: RemoteException tests.e2e.lazy_errors.PaymentDeclined"
    assert "tests.e2e.lazy_errors" in sys.modules
    kinds = [e["eventType"] for e in handle.history()]
    assert kinds.count("ActivityTaskScheduled") == 1 and "TimerStarted" not in kinds

    # A fresh process that never imported the module decides every task identically.
    here = decisions_per_task([app.PayWorkflow], handle.history(), handle.run_id, handle.workflow_id)
    there = replay_in_fresh_process(handle, "tests.e2e.determinism_app", tmp_path, subprocess_env,
                                    absent=("tests.e2e.lazy_errors",))
    assert there["absent"] == ["tests.e2e.lazy_errors"]
    assert json.loads(json.dumps(here)) == there["decisions"]


def test_dataclass_result_decodes_on_a_workflow_only_worker(env, subprocess_env, tmp_path):
    # The activity worker runs in another process: this one never builds an ActivityWorker
    # for Quotes, so only definition-time registration can teach it the Quote dataclass.
    log_path = tmp_path / "activities.out"
    with open(log_path, "w+") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "greenflow", "worker", "tests.e2e.determinism_app:Quotes", "--endpoint",
             env.service.endpoint, "--domain", env.domain, "--task-list", env.task_list],
            stdout=out, stderr=subprocess.STDOUT, env=subprocess_env, cwd=REPO)
    try:
        wait_for(lambda: worker.poll() is not None or "running" in log_path.read_text(),
                 timeout=30, what="the activity worker process")
        assert worker.poll() is None, log_path.read_text()
        env.workflow_worker(app.QuoteWorkflow)
        handle = env.client().start(app.QuoteWorkflow.run, 12)
        assert handle.result(timeout=30) == "Quote 12 EUR"
    finally:
        worker.kill()
        worker.wait()


# --------------------------------------------------------------------------- 3. nothing runs outside a decision


def _user_log(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "greenflow.workflow.user"]


def test_evicted_runs_never_run_side_effects_nor_log(env, caplog):
    caplog.set_level(logging.INFO, logger="greenflow.workflow.user")
    app.NOTIFIED.clear()
    worker = env.workflow_worker(app.Notifier, cache_size=1)
    first = env.client().start(app.Notifier.run)
    wait_for(lambda: any(e["eventType"] == "TimerStarted" for e in first.history()), what="the first run")
    assert worker.decider.cached_run(first.workflow_id, first.run_id) is not None
    second = env.client().start(app.Notifier.run)  # cache pressure evicts the first run
    wait_for(lambda: any(e["eventType"] == "TimerStarted" for e in second.history()), what="the second run")
    wait_for(lambda: worker.decider.cached_run(first.workflow_id, first.run_id) is None, what="the eviction")
    worker.stop(timeout=10)  # and stopping the worker evicts the second
    assert len(worker.decider) == 0
    assert app.NOTIFIED == [] and _user_log(caplog) == []
    assert not any(e["eventType"] == "MarkerRecorded" for h in (first, second) for e in h.history())


def test_queries_replay_decided_history_only_and_make_no_commands(env):
    app.CHARGED.clear()
    worker = env.workflow_worker(app.Notifier)
    handle = env.client().start(app.Notifier.run)
    wait_for(lambda: any(e["eventType"] == "TimerStarted" for e in handle.history()), what="the first decision")
    worker.stop(timeout=10)
    handle.signal("poke")
    # A worker has just taken the signal's decision task: history ends in DecisionTaskStarted.
    task = env.swf.call("PollForDecisionTask", domain=env.domain, taskList={"name": env.task_list}, identity="t")
    assert task.get("taskToken") and handle.history()[-1]["eventType"] == "DecisionTaskStarted"
    assert handle.query("pokes_seen") == 0  # the undecided signal is not applied
    assert app.CHARGED == []  # and its side_effect did not run here
    with pytest.raises(errors.WorkflowError, match="queries must not make commands"):
        handle.query("charge_now")
    handle.terminate()
    with pytest.raises(errors.WorkflowError, match="queries must not make commands"):
        handle.query("charge_now")  # a closed execution too
    assert app.CHARGED == []


# --------------------------------------------------------------------------- 4c. predicates are watched


def test_a_looping_wait_until_predicate_is_stopped_by_the_step_watchdog(env, caplog):
    caplog.set_level(logging.ERROR, logger="greenflow.workflow")
    env.workflow_worker(app.Spinner, step_timeout=0.3)
    handle = env.client().start(app.Spinner.run)
    wait_for(lambda: handle.history()[-1]["eventType"] == "DecisionTaskCompleted", what="the first decision")
    handle.signal("poke")
    record = wait_for(lambda: next((r for r in caplog.records if "GF-STEP-TIMEOUT" in r.getMessage()), None),
                      timeout=app.SPIN_SECONDS - 1, what="the watchdog to stop the predicate")
    assert "determinism_app.py" in record.getMessage() and "ready" in record.getMessage()
    assert handle.describe()["executionInfo"]["executionStatus"] == "OPEN"
    assert not any(e["eventType"] == "WorkflowExecutionCompleted" for e in handle.history())
