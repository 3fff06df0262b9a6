"""``greenflow bench`` and ``greenflow worker --processes``, as real processes (small N)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.e2e.conftest import REPO

PYTHON = sys.executable


def _greenflow(args, env, timeout=120):
    return subprocess.run([PYTHON, "-m", "greenflow", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def test_bench_standard_workloads_json_and_chart(subprocess_env, tmp_path):
    chart = tmp_path / "bench.svg"
    result = _greenflow(["bench", "W1", "W4", "-n", "3", "--json", "--chart", str(chart)], subprocess_env)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    runs = {run["workload"].split()[0]: run for run in report["runs"]}
    assert set(runs) == {"W1", "W4"}
    for run in runs.values():
        assert run["completed"] == 3 and run["failures"] == 0
        # A start and two decision answers at least, and for W1 an activity answer (the first
        # decision task and the activity task come with the answers before them: eager tasks).
        assert run["swf_calls_per_workflow"] >= 3
        assert run["latency_ms"]["p50"] > 0 and run["client_cpu_ms_per_workflow"] > 0
    assert runs["W4"]["latency_ms"]["p50"] >= 1000  # a real 1 s timer
    svg = chart.read_text()
    assert svg.startswith("<svg") and "W4 workflows sleeping" in svg and "<polyline" in svg


def test_bench_a_users_workflow_checks_its_result(subprocess_env):
    args = ["bench", "--workflow", "tests.e2e.e2e_app:ChainWorkflow.run", "--input", '["b", 2, 0]',
            "-n", "2", "--collect", "loop", "--no-progress"]
    result = _greenflow([*args, "--expect", "1"], subprocess_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| tests.e2e.e2e_app:ChainWorkflow.run | 2/2 |" in result.stdout
    wrong = _greenflow([*args, "--expect", "7"], subprocess_env)
    assert wrong.returncode == 1
    assert "returned 1, expected 7" in wrong.stderr


def test_bench_bad_usage_is_a_clear_error(capsys):
    from greenflow.cli import main
    for args, message in ((["bench", "W9"], "unknown workload W9"),
                          (["bench", "-n", "0"], "--count must be at least 1"),
                          (["bench", "--processes", "-1"], "--processes must be >= 0"),
                          (["bench", "--workflow", "nonsense"], "MODULE:Class.method"),
                          (["bench", "--workflow", "tests.e2e.e2e_app:ChainWorkflow.run", "--input", "{}"],
                           "JSON list")):
        assert main(args) == 2, args
        assert message in capsys.readouterr().err


def test_worker_processes_share_the_work_of_one_service(subprocess_env, tmp_path):
    # Two processes with one activity slot each: two activities at once need both of them.
    log = tmp_path / "activities.log"
    subprocess_env["GREENFLOW_TEST_LOG"] = str(log)
    result = _greenflow(["bench", "--workflow", "tests.e2e.e2e_app:ChainWorkflow.run", "--input", '["p", 2, 0.2]',
                         "-n", "4", "--processes", "2", "--pool-size", "1", "--expect", "1", "--json"],
                        subprocess_env, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    run = json.loads(result.stdout)["runs"][0]
    assert run["completed"] == 4
    # The worker processes' CPU is read from /proc (their activities sleep; deciding costs some).
    assert run["workers_cpu_ms_per_workflow"] is not None and run["workers_cpu_ms_per_workflow"] > 0
    pids = {line.split()[-1] for line in log.read_text().splitlines() if line.startswith("start ")}
    assert len(pids) == 2, log.read_text()
