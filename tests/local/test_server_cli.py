"""``greenflow server`` (and ``python -m greenflow server``) as a real subprocess."""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import time

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import greenflow
from greenflow import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(greenflow.__file__)))
ENDPOINT_LINE = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")


def make_client(endpoint, key_id="AKIDCLI", secret="cli-secret"):
    return botocore.session.get_session().create_client(
        "swf", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id=key_id,
        aws_secret_access_key=secret, config=Config(read_timeout=70, retries={"max_attempts": 0}))


class Server:
    """One ``python -m greenflow server`` subprocess; always gone after the test."""

    def __init__(self, *args: str, open_files: int | None = None):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))

        def limit_open_files() -> None:
            if open_files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

        self.process = subprocess.Popen(
            [sys.executable, "-m", "greenflow", "server", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=limit_open_files)
        self.endpoint = None

    def wait_listening(self) -> str:
        line = self.process.stdout.readline()  # the server prints one line once it listens
        match = ENDPOINT_LINE.search(line)
        assert match, f"no endpoint line: {line!r}; stderr: {self.stderr()}"
        self.endpoint = match.group(1)
        return self.endpoint

    def stop(self, signum=signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        return self.process.wait(30)

    def stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        return self.process.stderr.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def servers():
    started = []

    def start(*args, **options):
        server = Server(*args, **options)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.kill()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_server_serves_botocore_and_stops_cleanly(servers, tmp_path, signum):
    server = servers("--db", str(tmp_path / "swf.db"), "--poll-timeout", "1")
    endpoint = server.wait_listening()
    client = make_client(endpoint)
    client.register_domain(name="cli", workflowExecutionRetentionPeriodInDays="1")
    assert client.describe_domain(name="cli")["domainInfo"]["status"] == "REGISTERED"
    assert server.stop(signum) == 0
    assert gone(server.process.pid)
    assert "Traceback" not in server.stderr()


def test_sigterm_answers_a_waiting_long_poll_and_exits(servers):
    import threading
    import time

    server = servers("--db", ":memory:")  # polls wait the full 60 s unless woken
    client = make_client(server.wait_listening())
    client.register_domain(name="d", workflowExecutionRetentionPeriodInDays="1")
    answers = []
    poller = threading.Thread(target=lambda: answers.append(
        client.poll_for_decision_task(domain="d", taskList={"name": "t"})))
    poller.start()
    time.sleep(1.0)  # let the poll reach the server (it then waits up to 60 s)
    assert server.stop() == 0
    poller.join(30)
    assert not poller.is_alive()
    assert answers and answers[0]["taskToken"] == ""


def test_data_survives_a_restart_on_the_same_database(servers, tmp_path):
    db = str(tmp_path / "swf.db")
    first = servers("--db", db)
    make_client(first.wait_listening()).register_domain(name="kept", workflowExecutionRetentionPeriodInDays="3")
    assert first.stop() == 0
    second = servers("--db", db)
    answer = make_client(second.wait_listening()).describe_domain(name="kept")
    assert answer["configuration"]["workflowExecutionRetentionPeriodInDays"] == "3"
    assert second.stop() == 0


def test_long_poll_timeout_option_is_used(servers, tmp_path):
    server = servers("--db", ":memory:", "--poll-timeout", "0.2")
    client = make_client(server.wait_listening())
    client.register_domain(name="d", workflowExecutionRetentionPeriodInDays="1")
    assert client.poll_for_activity_task(domain="d", taskList={"name": "t"})["taskToken"] == ""
    assert server.stop() == 0


def test_credentials_file_requires_signed_requests(servers, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text("AKIDCLI=cli-secret\n")
    server = servers("--db", ":memory:", "--credentials", str(credentials))
    endpoint = server.wait_listening()
    make_client(endpoint).register_domain(name="d", workflowExecutionRetentionPeriodInDays="1")
    with pytest.raises(ClientError) as caught:
        make_client(endpoint, secret="wrong").describe_domain(name="d")
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert server.stop() == 0


def test_emulate_aws_adds_latency_throttling_and_requires_signatures(servers):
    server = servers("--db", ":memory:", "--emulate-aws", "--latency", "30", "--quota-scale", "0.001",
                     "--fault-rate", "0")
    endpoint = server.wait_listening()
    assert "AWS-like mode: 30 ms per call" in server.process.stdout.readline()
    # Signed with the pair greenflow's clients use for a local endpoint: served, 30 ms later.
    client = make_client(endpoint, key_id="greenflow", secret="greenflow")
    began = time.perf_counter()
    client.register_domain(name="d", workflowExecutionRetentionPeriodInDays="1")
    assert time.perf_counter() - began >= 0.03
    # DescribeDomain's bucket: 200 x 0.001 -> 1 token, refilled at 0.006/s.
    client.describe_domain(name="d")
    with pytest.raises(ClientError) as throttled:
        client.describe_domain(name="d")
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    with pytest.raises(ClientError) as refused:
        make_client(endpoint).list_domains(registrationStatus="REGISTERED")  # an unknown key id
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert server.stop() == 0


@pytest.mark.parametrize("options, message", [
    (["--seed", "1"], "need --emulate-aws"),
    (["--emulate-aws", "--latency", "40-20"], "latency"),
    (["--emulate-aws", "--fault-rate", "2"], "fault_rate"),
])
def test_bad_aws_like_options_are_refused(capsys, options, message):
    assert cli.main(["server", "--db", ":memory:", *options]) == 2
    assert message in capsys.readouterr().err


def test_port_in_use_is_a_clear_failure(servers):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = servers("--db", ":memory:", "--port", str(port))
        assert server.process.wait(30) == 1
        assert "cannot listen" in server.stderr()


def test_unusable_database_is_a_clear_failure(capsys, tmp_path):
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert cli.main(["server", "--db", str(tmp_path / "no" / "such" / "dir" / "swf.db")]) == 1
    assert "cannot use the database" in capsys.readouterr().err
    # Running the server in-process leaves the program's signal handlers as they were.
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


def test_non_loopback_without_credentials_is_refused_without_listening(capsys):
    assert cli.main(["server", "--host", "0.0.0.0", "--db", ":memory:"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_missing_credentials_file_is_refused(capsys, tmp_path):
    assert cli.main(["server", "--db", ":memory:", "--credentials", str(tmp_path / "absent")]) == 2
    assert "absent" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "server" in capsys.readouterr().err


def test_help_lists_the_server_options(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["server", "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--db", "--credentials", "--poll-timeout", "--emulate-aws", "--latency",
                   "--fault-rate", "--quota-scale", "--seed"):
        assert option in out


def test_every_command_group_adds_its_commands(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for name in ("server", "worker", "start", "signal", "cancel", "terminate", "list", "describe", "history",
                 "replay"):
        assert f"    {name} " in out or f"    {name}\n" in out, name


def test_the_command_imports_nothing_heavy_until_a_command_runs():
    # `greenflow worker` must monkey-patch gevent before botocore is imported.
    code = ("import sys, greenflow.cli; greenflow.cli.build_parser(); "
            "print(sorted(m for m in ('botocore', 'gevent', 'greenflow.local', 'greenflow.client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_connection_limit_options_are_used(servers):
    server = servers("--db", ":memory:", "--request-timeout", "0.3", "--idle-timeout", "30",
                     "--max-connections", "3")
    port = int(server.wait_listening().rsplit(":", 1)[1])
    silent = [socket.create_connection(("127.0.0.1", port), timeout=15) for _ in range(3)]
    try:
        for sock in silent:  # each closed by the request timeout, or to make room at the cap
            assert sock.recv(1) == b""
    finally:
        for sock in silent:
            sock.close()
    assert server.stop() == 0
    assert "connection cap reached: 3 connections open (max_connections=3)" in server.stderr()


def test_idle_connections_beyond_the_open_file_limit_do_not_lock_clients_out(servers):
    # 300 idle connections against a server allowed 256 open files: the default cap
    # (derived from that limit) closes idle ones, so a real client is still answered.
    server = servers("--db", ":memory:", open_files=256)
    endpoint = server.wait_listening()
    port = int(endpoint.rsplit(":", 1)[1])
    idle = [socket.create_connection(("127.0.0.1", port), timeout=15) for _ in range(300)]
    try:
        client = make_client(endpoint)
        assert client.list_domains(registrationStatus="REGISTERED")["domainInfos"] == []
    finally:
        for sock in idle:
            sock.close()
    assert server.stop() == 0
    assert "connection cap reached" in server.stderr()
