"""``greenflow server --metrics-port`` and ``greenflow worker --metrics-port``: real processes, scraped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from greenflow.client import WorkflowClient
from greenflow.swf import connect

from .exposition import metric_value as _value, scrape as _scrape
from .metrics_app import PickWorkflow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics_app.py")


def _environment() -> dict:
    variables = dict(os.environ)
    variables["PYTHONPATH"] = REPO + os.pathsep + variables.get("PYTHONPATH", "")
    variables["PYTHONUNBUFFERED"] = "1"
    variables["AWS_CONFIG_FILE"] = os.devnull
    for name in ("GREENFLOW_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        variables.pop(name, None)
    return variables


def _line_with(process: subprocess.Popen, pattern: str) -> re.Match:
    seen = []
    for line in process.stdout:
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r} in {seen}; stderr: {process.stderr.read()}")


def test_server_and_worker_serve_metrics_with_one_flag():
    processes = []
    try:
        server = subprocess.Popen([sys.executable, "-m", "greenflow", "server", "--port", "0", "--db", ":memory:",
                                   "--metrics-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=_environment())
        processes.append(server)
        endpoint = _line_with(server, r"listening on (http://\S+)").group(1)
        service_metrics = _line_with(server, r"metrics on (http://\S+)").group(1)
        worker = subprocess.Popen([sys.executable, "-m", "greenflow", "worker", APP, "--domain", "shop",
                                   "--task-list", "picking", "--endpoint", endpoint, "--metrics-port", "0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment())
        processes.append(worker)
        worker_metrics = _line_with(worker, r"metrics on (http://\S+)").group(1)
        _line_with(worker, r"running")
        client = WorkflowClient(connect(endpoint=endpoint), "shop", "picking")
        assert client.start(PickWorkflow.run, ["tea", "missing"]).result(timeout=30) == ["picked tea", None]

        text = _scrape(worker_metrics)
        assert _value(text, "greenflow_decision_task_seconds_count", outcome="completed") >= 3
        assert _value(text, "greenflow_failures_total", kind="activity", cause="LookupError") == 1
        assert 'greenflow_task_list_backlog{domain="shop",kind="activity",task_list="picking"}' in text

        text = _scrape(service_metrics)
        assert _value(text, "greenflow_service_requests_total", operation="StartWorkflowExecution",
                      status="200") == 1
        assert _value(text, "greenflow_service_activity_schedule_to_start_seconds_count",
                      activity_type="Shelf.pick 1.0") == 2
        assert _value(text, "greenflow_service_waiting_pollers", kind="activity", task_list="picking") >= 1
        assert _value(text, "greenflow_service_open_executions") == 0
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
