"""Real processes: the examples, worker processes killed with ``kill -9`` or stopped with
SIGTERM, and one activity worker process running 500 activities at once.

The service runs in the test process (a real HTTP server in its own thread, with a virtual
clock); workers are separate ``python -m greenflow worker`` processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from greenflow.testing import LocalTestEnvironment, wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = sys.executable
APP = os.path.join(REPO, "tests", "e2e", "e2e_app.py")


def _worker_process(env, subprocess_env, tmp_path, name, *extra):
    """Start ``greenflow worker tests/e2e/app.py`` on ``env``'s service; wait until it polls."""
    out = open(tmp_path / f"{name}.out", "w+")
    process = subprocess.Popen(
        [PYTHON, "-m", "greenflow", "worker", APP, "--endpoint", env.service.endpoint, "--domain", env.domain,
         "--task-list", env.task_list, *extra],
        stdout=out, stderr=subprocess.STDOUT, env=subprocess_env, cwd=REPO)
    process.output_path = tmp_path / f"{name}.out"

    def running():
        if process.poll() is not None:
            raise AssertionError(f"worker {name} exited early:\n{process.output_path.read_text()}")
        return "running" in process.output_path.read_text()

    wait_until(running, timeout=30, what=f"worker process {name} to start")
    return process


def _stop(process, sig=signal.SIGTERM, timeout=30):
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@pytest.fixture
def app_env(subprocess_env, tmp_path):
    subprocess_env["GREENFLOW_TEST_LOG"] = str(tmp_path / "activities.log")
    with LocalTestEnvironment(poll_timeout=1.0) as environment:
        environment.subprocess_env = subprocess_env
        environment.log_path = tmp_path / "activities.log"
        environment.processes = []
        yield environment
        for process in environment.processes:
            _stop(process, signal.SIGKILL)


def _log_lines(env):
    return env.log_path.read_text().splitlines() if env.log_path.exists() else []


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("example, expected", [
    ("hello_world.py", ["Hello World!"]),
    ("order_fulfillment.py", ["order A (30, 2 items):     shipped", "approved by alice",
                              "cancelled by the customer, payment refunded", "payment attempts for order A: 2"]),
])
def test_examples_run_and_print_the_outcome(example, expected, subprocess_env):
    result = subprocess.run([PYTHON, os.path.join(REPO, "examples", example)], env=subprocess_env, cwd=REPO,
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    for text in expected:
        assert text in result.stdout, result.stdout + result.stderr
    # A clean exit: nothing still calling the embedded service while it stops.
    assert "retrying in" not in result.stderr and "Traceback" not in result.stderr, result.stderr


# --------------------------------------------------------------------------- kill -9


def test_killed_worker_is_replaced_and_every_workflow_completes_once(app_env, tmp_path):
    from tests.e2e.e2e_app import ChainWorkflow
    env = app_env
    first = _worker_process(env, env.subprocess_env, tmp_path, "first")
    env.processes.append(first)
    client = env.client()
    handles = [client.start(ChainWorkflow.run, f"wf{i}", 4, 0.2, workflow_id=f"chain-{i}") for i in range(12)]
    # Kill the worker in the middle: some steps done, others running or waiting for decisions.
    wait_until(lambda: sum(line.startswith("end") for line in _log_lines(env)) >= 10, timeout=30,
               what="a few steps to finish")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    lines_at_kill = len(_log_lines(env))
    second = _worker_process(env, env.subprocess_env, tmp_path, "second")
    env.processes.append(second)

    # Tasks the dead worker held time out in (virtual) SWF time; move it when nothing moves.
    progress = [None, time.monotonic()]

    def all_closed():
        count = client.count_closed()
        if count != progress[0]:
            progress[:] = [count, time.monotonic()]
        elif time.monotonic() - progress[1] > 1.5:
            env.advance_time(30)
            progress[1] = time.monotonic()
        return count == len(handles)

    wait_until(all_closed, timeout=60, interval=0.1, what="every workflow to close")
    for handle in handles:
        assert handle.result(timeout=5) == 0 + 1 + 2 + 3
        runs = list(client.list_closed(workflow_id=handle.workflow_id))
        assert [info["closeStatus"] for info in runs] == ["COMPLETED"]  # exactly once
    assert client.count_open() == 0
    pids = {line.split()[3] for line in _log_lines(env)[lines_at_kill:] if line.startswith("end")}
    assert str(second.pid) in pids  # the replacement did the rest
    assert _stop(second) == 0


# --------------------------------------------------------------------------- graceful shutdown


def test_graceful_shutdown_loses_nothing(app_env, tmp_path):
    from tests.e2e.e2e_app import ChainWorkflow
    env = app_env
    first = _worker_process(env, env.subprocess_env, tmp_path, "first")
    env.processes.append(first)
    client = env.client()
    handles = [client.start(ChainWorkflow.run, f"wf{i}", 3, 0.5, workflow_id=f"graceful-{i}") for i in range(8)]
    wait_until(lambda: sum(line.startswith("start") for line in _log_lines(env)) >= 8, timeout=30,
               what="activities to be running")
    assert _stop(first, signal.SIGTERM) == 0, first.output_path.read_text()
    lines = _log_lines(env)
    started = {tuple(line.split()[1:3]) for line in lines if line.startswith("start")}
    ended = {tuple(line.split()[1:3]) for line in lines if line.startswith("end")}
    assert started == ended  # every activity running at SIGTERM was allowed to finish

    second = _worker_process(env, env.subprocess_env, tmp_path, "second")
    env.processes.append(second)
    # The virtual clock never moves: had a task been dropped, it would never time out and
    # its workflow would never finish.
    for handle in handles:
        assert handle.result(timeout=30) == 0 + 1 + 2
    for handle in handles:
        assert not any(e["eventType"] in ("ActivityTaskTimedOut", "DecisionTaskTimedOut") for e in handle.history())
    assert _stop(second) == 0


# --------------------------------------------------------------------------- 500 concurrent activities


def test_500_concurrent_activities_in_one_worker_process(app_env, tmp_path):
    # All 500 activities must be running in the one worker process at the same time: each
    # waits (up to 240 s) until all 500 have arrived. A worker with fewer concurrent slots
    # (a serial worker, a 32-thread pool) never lets them meet, however fast the machine;
    # a slow or loaded machine only makes the meeting later.
    from tests.e2e.e2e_app import MeetingWorkflow
    env = app_env
    worker = _worker_process(env, env.subprocess_env, tmp_path, "pool", "--pool-size", "600")
    env.processes.append(worker)
    handle = env.client().start(MeetingWorkflow.run, "m500", 500, 240.0)
    meetings = handle.result(timeout=280)
    assert len(meetings) == 500
    assert all(met for met, _, _ in meetings), \
        f"only {max(present for _, present, _ in meetings)} of 500 activities were running at once"
    assert {pid for _, _, pid in meetings} == {worker.pid}
    assert _stop(worker) == 0


def test_a_meeting_larger_than_the_pool_does_not_happen(app_env, tmp_path):
    # The check above can fail: with 20 slots, 40 activities never all run at once.
    from tests.e2e.e2e_app import MeetingWorkflow
    env = app_env
    worker = _worker_process(env, env.subprocess_env, tmp_path, "small", "--pool-size", "20")
    env.processes.append(worker)
    meetings = env.client().start(MeetingWorkflow.run, "m40", 40, 1.0).result(timeout=60)
    assert not any(met for met, _, _ in meetings)
    assert max(present for _, present, _ in meetings) == 20
    assert _stop(worker) == 0


# --------------------------------------------------------------------------- without gevent patching

UNPATCHED_PROGRAM = """
import gevent.monkey
from greenflow.local import LocalService
from greenflow.swf import connect
from greenflow.workflow import WorkflowDefinition, execute, sleep
from greenflow.worker import WorkflowWorker

class Doubler(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=60)
    def run(self, x):
        sleep(1)
        return x * 2

assert not gevent.monkey.is_module_patched("socket")
with LocalService(poll_timeout=30) as service:
    with WorkflowWorker(connect(endpoint=service.endpoint), "d", "tl", Doubler, pollers=3) as worker:
        print("result", Doubler.run(21).result(timeout=20), "pollers", worker.pollers, flush=True)
print("exited", flush=True)
"""


def test_workflow_worker_without_gevent_patching(subprocess_env):
    # One background thread polls; leaving `with worker:` does not wait for its open poll.
    result = subprocess.run([PYTHON, "-c", UNPATCHED_PROGRAM], env=subprocess_env, cwd=REPO,
                            capture_output=True, text=True, timeout=25)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "result 42 pollers 1" in result.stdout and "exited" in result.stdout
