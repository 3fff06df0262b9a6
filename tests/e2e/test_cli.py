"""The ``greenflow`` commands against a real local service (in-process ``main()`` calls;
``greenflow worker`` itself runs as a real process in test_processes.py)."""

from __future__ import annotations

import json

import pytest

from greenflow.cli import main
from greenflow.workflow import WorkflowDefinition, execute, query, signal, wait_until


class CliWorkflow(WorkflowDefinition):
    def __init__(self):
        self.messages: list[str] = []

    @execute(version="2.0", execution_start_to_close_timeout=3600)
    def run(self, greeting: str, count: int = 1) -> str:
        wait_until(lambda: len(self.messages) >= count)
        return f"{greeting} {' '.join(self.messages)}"

    @signal()
    def message(self, text: str) -> None:
        self.messages.append(text)

    @query()
    def received(self) -> list:
        return list(self.messages)


class ChangedCliWorkflow(WorkflowDefinition):
    """CliWorkflow after an incompatible change: it now sleeps first."""

    @execute(version="2.0", execution_start_to_close_timeout=3600)
    def run(self, greeting: str, count: int = 1) -> str:
        from greenflow.workflow import sleep
        sleep(10)
        return greeting


def cli(env, *argv):
    """Run ``greenflow <argv>`` against ``env``'s service; returns the exit status."""
    command, *rest = argv
    return main([command, "--endpoint", env.service.endpoint, "--domain", env.domain, *rest])


def test_start_signal_list_describe_history_and_replay(env, capsys, tmp_path, monkeypatch):
    env.workflow_worker(CliWorkflow)
    assert cli(env, "start", "CliWorkflow", "--version", "2.0", "--input", '["hi", 2]', "--workflow-id", "cli-1",
               "--task-list", env.task_list) == 0
    assert "started workflow cli-1 run" in capsys.readouterr().out

    assert cli(env, "list") == 0
    out = capsys.readouterr().out
    assert "cli-1" in out and "CliWorkflow@2.0" in out and "OPEN" in out

    assert cli(env, "signal", "cli-1", "message", "--input", '["there"]') == 0
    assert cli(env, "signal", "cli-1", "message", "--input", '"friend"') == 0
    handle = env.client().get_handle("cli-1", workflow_class=CliWorkflow)
    assert handle.result(timeout=20) == "hi there friend"
    capsys.readouterr()

    assert cli(env, "describe", "cli-1") == 0
    out = capsys.readouterr().out
    assert "COMPLETED" in out and env.task_list in out

    assert cli(env, "list", "--closed", "--status", "COMPLETED") == 0
    assert "cli-1" in capsys.readouterr().out

    assert cli(env, "history", "cli-1") == 0
    out = capsys.readouterr().out
    assert "WorkflowExecutionStarted" in out and "signalName=message" in out and "WorkflowExecutionCompleted" in out

    saved = tmp_path / "history.json"
    assert cli(env, "history", "cli-1", "--output", str(saved)) == 0
    assert len(json.loads(saved.read_text())["events"]) == len(handle.history())

    # replay: today's code reproduces the history; a changed workflow does not.
    module = tmp_path / "cli_workflows.py"
    module.write_text(
        "from greenflow.workflow import WorkflowDefinition, execute, query, signal, wait_until\n"
        "class CliWorkflow(WorkflowDefinition):\n"
        "    def __init__(self):\n        self.messages = []\n"
        "    @execute(version='2.0', execution_start_to_close_timeout=3600)\n"
        "    def run(self, greeting, count=1):\n"
        "        wait_until(lambda: len(self.messages) >= count)\n"
        "        return greeting + ' ' + ' '.join(self.messages)\n"
        "    @signal()\n    def message(self, text):\n        self.messages.append(text)\n")
    changed = tmp_path / "cli_changed.py"
    changed.write_text(
        "from greenflow.workflow import WorkflowDefinition, execute, sleep\n"
        "class CliWorkflow(WorkflowDefinition):\n"
        "    @execute(version='2.0', execution_start_to_close_timeout=3600)\n"
        "    def run(self, greeting, count=1):\n        sleep(10)\n        return greeting\n")
    capsys.readouterr()
    assert main(["replay", str(saved), str(module)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["replay", str(saved), str(changed)]) == 1
    assert "NON-DETERMINISTIC" in capsys.readouterr().err


def test_cancel_and_terminate(env, capsys):
    env.workflow_worker(CliWorkflow)
    client = env.client()
    first = client.start(CliWorkflow.run, "x", workflow_id="cli-cancel")
    second = client.start(CliWorkflow.run, "y", workflow_id="cli-term")
    assert cli(env, "cancel", "cli-cancel") == 0
    assert cli(env, "terminate", "cli-term", "--reason", "enough") == 0
    from greenflow import errors
    with pytest.raises(errors.WorkflowCanceledError):
        first.result(timeout=20)
    with pytest.raises(errors.WorkflowTerminatedError, match="enough"):
        second.result(timeout=20)


def test_clear_errors_and_exit_statuses(env, capsys, tmp_path):
    assert cli(env, "signal", "no-such-workflow", "x") == 1
    assert "UnknownResourceError" in capsys.readouterr().err
    assert cli(env, "start", "CliWorkflow") == 2  # no --version
    assert "--version is required" in capsys.readouterr().err
    assert cli(env, "start", "CliWorkflow", "--version", "2.0", "--input", "[not json") == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "missing.json"), "json"]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"events": []}')
    assert main(["replay", str(bad), "no_such_module_xyz"]) == 2
    assert cli(env, "worker", "json") == 2  # a module without workflows or activities
    assert "no WorkflowDefinition subclasses" in capsys.readouterr().err


MODULE_SOURCE = '''
from greenflow.activity import activities, activity
from greenflow.workflow import WorkflowDefinition, execute

@activities(start_to_close_timeout=5)
class Simple:
    @activity()
    def ping(self):
        return "pong"

@activities(start_to_close_timeout=5)
class NeedsConfig:
    def __init__(self, dsn):
        self.dsn = dsn
    @activity()
    def query(self):
        return self.dsn

configured = NeedsConfig("sqlite://")

class Flow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=60)
    def run(self):
        return Simple.ping()

class NotAWorkflow:
    pass
'''


def test_worker_finds_workflows_and_activities(tmp_path):
    from greenflow.cli._definitions import UsageError, find_definitions
    path = tmp_path / "defs_for_cli.py"
    path.write_text(MODULE_SOURCE)
    workflows, objects = find_definitions([str(path)])
    assert [cls.__name__ for cls in workflows] == ["Flow"]
    assert sorted(type(obj).__name__ for obj in objects) == ["NeedsConfig", "Simple"]
    assert [obj for obj in objects if type(obj).__name__ == "NeedsConfig"][0].dsn == "sqlite://"
    workflows, objects = find_definitions([f"{path}:Flow"])
    assert [cls.__name__ for cls in workflows] == ["Flow"] and objects == []
    workflows, objects = find_definitions([f"{path}:configured"])
    assert workflows == [] and [type(obj).__name__ for obj in objects] == ["NeedsConfig"]
    with pytest.raises(UsageError, match="has no 'Missing'"):
        find_definitions([f"{path}:Missing"])
    with pytest.raises(UsageError, match="cannot import"):
        find_definitions(["no_such_module_for_greenflow"])
