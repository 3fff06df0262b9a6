"""Shared pieces of the SWF service benchmarks.

* :class:`ServerProcess` runs an SWF server (greenflow's local service, moto's server, or
  the null server below) as a subprocess on a loopback port and reads its CPU time, so
  the service's own cost per request can be measured.
* :func:`make_client` builds the one botocore ``swf`` client configuration every server is
  driven with, and :func:`register` the domain and types the workload uses.
* :class:`ClientPool` is a pool of client *processes* (each running one or more threads),
  created once by ``fork`` and reused for every phase and server, so the client's own
  cost (botocore serialisation, signing, parsing: about 1 ms of CPU per call here) is
  spread over processes instead of one GIL hiding the server's figures.
* ``python benchmarks/_swf_workload.py null-server --port P`` answers every request with a
  canned body at once: calls against it measure botocore's own cost per call, the floor
  any server's latency sits on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from typing import Any

import botocore
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOMAIN = "greenflow-bench"
WORKFLOW_TYPE = {"name": "bench-workflow", "version": "1"}
ACTIVITY_TYPE = {"name": "bench-activity", "version": "1"}

#: The client processes' niceness (see :func:`_worker_main`).
CLIENT_NICENESS = 10

#: What a phase's round trip does; see :func:`_one_round_trip`.
OPERATIONS = ("start", "decide", "work", "complete")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """An SWF server in a subprocess, listening on ``127.0.0.1:port``.

    Args:
        name: the label printed in tables.
        argv: the command line; it must make the server listen on ``port``.
        port: the port it listens on.
        resettable: whether ``POST /moto-api/reset`` empties it (moto only).
    """

    def __init__(self, name: str, argv: list[str], port: int, *, resettable: bool = False):
        self.name = name
        self.argv = argv
        self.port = port
        self.resettable = resettable
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def endpoint(self) -> str:
        """The server's URL, e.g. ``http://127.0.0.1:5000``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        """Start the process; return once its port accepts connections (or raise with its output)."""
        return self.launch().wait_ready(timeout)

    def launch(self) -> "ServerProcess":
        """Start the process without waiting for it (see :meth:`wait_ready`)."""
        # The repository first on the path: `python -m greenflow` works from any directory,
        # installed or not.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        return self

    def wait_ready(self, timeout: float = 30.0) -> "ServerProcess":
        """Return once the port accepts connections; raise with the server's output if it exits or times out."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited with {self.process.returncode}:\n{self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} server did not listen on port {self.port} within {timeout} s:\n{self.output()}")

    def output(self, limit: int = 4000) -> str:
        """The tail of what the server printed."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-limit:]

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process (all its threads, dead ones too) has used so far.

        Read from the process's CPU-time clock (nanoseconds; Linux encodes another process's
        clock id as ``(~pid << 3) | CPUCLOCK_SCHED``), else from ``/proc/<pid>/stat``
        (utime + stime, in 10 ms ticks).
        """
        assert self.process is not None
        try:
            return time.clock_gettime((~self.process.pid << 3) | 2)
        except OSError:
            pass
        with open(f"/proc/{self.process.pid}/stat") as stat:
            # The command name (field 2) may contain spaces: split after its closing ')'.
            fields = stat.read().rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def reset(self) -> None:
        """Empty a moto server's state (no-op for the others)."""
        if self.resettable:
            request = urllib.request.Request(self.endpoint + "/moto-api/reset", data=b"", method="POST")
            urllib.request.urlopen(request, timeout=10).read()

    def stop(self) -> None:
        """Stop the process: SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def greenflow_server(db_path: str) -> ServerProcess:
    """greenflow's local service on a fresh port, storing into ``db_path``."""
    port = free_port()
    # A short long-poll timeout: the workload never polls an empty task list, but if a bug
    # made it, a client would lose 5 s rather than SWF's 60.
    argv = [sys.executable, "-m", "greenflow", "server", "--host", "127.0.0.1", "--port", str(port), "--db", db_path,
            "--poll-timeout", "5"]
    return ServerProcess("greenflow", argv, port)


def moto_server() -> ServerProcess:
    """moto's server (all of moto's mocks, SWF among them) on a fresh port."""
    port = free_port()
    return ServerProcess("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port, resettable=True)


def null_server() -> ServerProcess:
    """The canned-answer server below: measures botocore's own cost per call."""
    port = free_port()
    return ServerProcess("null", [sys.executable, os.path.abspath(__file__), "null-server", "--port", str(port)], port)


_session: botocore.session.Session | None = None

#: A fixed ``Authorization`` header in SigV4's shape, naming the ``swf`` scope. Neither server
#: verifies signatures (greenflow runs without credentials, moto never checks), but moto
#: routes a request to its SWF mock by the service in that scope, so an unsigned request
#: must still carry one. Every request of every server gets the same header.
STATIC_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/swf/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64
)
#: A fixed User-Agent, so botocore does not rebuild its long one for every call.
USER_AGENT = "greenflow-bench"


def _add_static_authorization(request, **_) -> None:
    request.headers["Authorization"] = STATIC_AUTHORIZATION


def make_client(endpoint: str, *, read_timeout: float = 70.0):
    """A botocore ``swf`` client for ``endpoint``: unsigned, a fixed User-Agent, no retries.

    The same client for every server. It skips SigV4 signing (about 0.1 ms of client CPU
    per call that no server here checks) and sends :data:`STATIC_AUTHORIZATION` instead,
    which moto needs to route the call. No retries so that each measured call is exactly
    one HTTP request; ``read_timeout`` above SWF's 60 s long poll, as SWF asks of clients.
    """
    global _session
    if _session is None:
        _session = botocore.session.get_session()
    client = _session.create_client(
        "swf",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(read_timeout=read_timeout, connect_timeout=10, retries={"max_attempts": 0},
                      signature_version=botocore.UNSIGNED, user_agent=USER_AGENT),
    )
    client.meta.events.register("before-send.swf", _add_static_authorization)
    return client


def register(client, domain: str = DOMAIN) -> None:
    """Register the benchmark's domain, workflow type and activity type (already there is fine)."""
    calls = [
        ("register_domain", dict(name=domain, workflowExecutionRetentionPeriodInDays="1")),
        ("register_workflow_type", dict(domain=domain, **WORKFLOW_TYPE)),
        ("register_activity_type", dict(domain=domain, **ACTIVITY_TYPE)),
    ]
    for method, params in calls:
        try:
            getattr(client, method)(**params)
        except ClientError as error:
            if not error.response["Error"]["Code"].endswith("AlreadyExistsFault"):
                raise


# --- the workload -------------------------------------------------------------------------


@dataclasses.dataclass
class PhaseSpec:
    """One measured phase: ``operation`` done ``total`` times by ``concurrency`` clients."""

    operation: str
    endpoint: str
    concurrency: int
    total: int
    decision_task_list: str
    activity_task_list: str
    id_prefix: str
    time_limit: float = 60.0  # a client stops starting new units after this many seconds


def _is_empty(task: dict) -> bool:
    # greenflow answers an empty long poll with taskToken ""; moto leaves taskToken out.
    return not task.get("taskToken")


def _timed(latencies: list[float], call, **params) -> dict:
    began = time.perf_counter()
    try:
        return call(**params)
    finally:
        latencies.append(time.perf_counter() - began)


def _one_round_trip(
    client, spec: PhaseSpec, workflow_id: str, latencies: list[float], stats: Counter, deadline: float
) -> None:
    """Do one unit of the phase's work; raises on a failed request."""
    if spec.operation == "start":
        _timed(
            latencies,
            client.start_workflow_execution,
            domain=DOMAIN,
            workflowId=workflow_id,
            workflowType=WORKFLOW_TYPE,
            taskList={"name": spec.decision_task_list},
            executionStartToCloseTimeout="3600",
            taskStartToCloseTimeout="600",
            childPolicy="TERMINATE",
            input="x" * 100,
        )
        return
    if spec.operation in ("decide", "complete"):
        poll, params = client.poll_for_decision_task, dict(domain=DOMAIN, taskList={"name": spec.decision_task_list})
    else:
        poll, params = client.poll_for_activity_task, dict(domain=DOMAIN, taskList={"name": spec.activity_task_list})
    while True:
        task = _timed(latencies, poll, **params)
        if not _is_empty(task):
            break
        stats["empty polls"] += 1
        if time.monotonic() > deadline:
            raise TimeoutError("no task to poll")
    if spec.operation == "decide":
        decision = {
            "decisionType": "ScheduleActivityTask",
            "scheduleActivityTaskDecisionAttributes": {
                "activityType": ACTIVITY_TYPE,
                "activityId": "a1",
                "taskList": {"name": spec.activity_task_list},
                "input": "y" * 100,
                "scheduleToCloseTimeout": "3600",
                "scheduleToStartTimeout": "3600",
                "startToCloseTimeout": "600",
                "heartbeatTimeout": "NONE",
            },
        }
        _timed(latencies, client.respond_decision_task_completed, taskToken=task["taskToken"], decisions=[decision])
    elif spec.operation == "complete":
        decision = {
            "decisionType": "CompleteWorkflowExecution",
            "completeWorkflowExecutionDecisionAttributes": {"result": "done"},
        }
        _timed(latencies, client.respond_decision_task_completed, taskToken=task["taskToken"], decisions=[decision])
    else:
        _timed(latencies, client.respond_activity_task_completed, taskToken=task["taskToken"], result="z" * 100)


def _claim(counter, total: int) -> int | None:
    """The next unit number of the phase, or None when all ``total`` are taken."""
    with counter.get_lock():
        unit = counter.value
        if unit >= total:
            return None
        counter.value = unit + 1
        return unit


def _run_thread(client, spec: PhaseSpec, counter, go: threading.Event, out: list) -> None:
    latencies: list[float] = []
    stats: Counter = Counter()
    done = 0
    go.wait()
    began = time.perf_counter()  # CLOCK_MONOTONIC: comparable across the client processes
    deadline = time.monotonic() + spec.time_limit
    # Units are claimed one at a time from a counter shared by all client processes, so
    # every client stays busy to the end (fixed quotas leave stragglers running alone).
    while (unit := _claim(counter, spec.total)) is not None:
        if time.monotonic() > deadline:
            stats["stopped at the time limit"] += 1
            break
        try:
            _one_round_trip(client, spec, f"{spec.id_prefix}-{unit}", latencies, stats, deadline)
            done += 1
        except ClientError as error:
            stats[f"{error.response['Error'].get('Code')} ({error.response['ResponseMetadata'].get('HTTPStatusCode')})"] += 1
        except Exception as error:  # a connection error, a timeout: count it, go on
            stats[type(error).__name__] += 1
    out.append((latencies, done, stats, began, time.perf_counter()))


def _worker_main(conn, counter) -> None:
    """A client process: runs the phases the parent sends, one at a time."""
    # Below the servers' priority: on a 2-core machine the load generators would otherwise
    # take most of the CPU from the one server process they measure (clients of a real
    # service run on other machines). They still get every cycle the server leaves idle.
    os.nice(CLIENT_NICENESS)
    clients: dict[tuple[str, int], Any] = {}
    while True:
        message = conn.recv()
        if message is None:
            return
        spec, thread_count = message
        # Clients are made (and cached) before the clock starts: their cost is not the server's.
        local = []
        for i in range(thread_count):
            if (spec.endpoint, i) not in clients:
                client = make_client(spec.endpoint)
                # Open the connection now: a first call's TCP handshake is not the server's cost.
                client.list_domains(registrationStatus="REGISTERED")
                clients[(spec.endpoint, i)] = client
            local.append(clients[(spec.endpoint, i)])
        go = threading.Event()
        out: list = []
        threads = [
            threading.Thread(target=_run_thread, args=(client, spec, counter, go, out), daemon=True) for client in local
        ]
        for thread in threads:
            thread.start()
        conn.send("ready")
        conn.recv()  # "go"
        go.set()
        for thread in threads:
            thread.join()
        latencies, done, stats = [], 0, Counter()
        for thread_latencies, thread_done, thread_stats, _, _ in out:
            latencies += thread_latencies
            done += thread_done
            stats.update(thread_stats)
        span = (min(began for *_, began, _ in out), max(ended for *_, ended in out))
        conn.send((latencies, done, dict(stats), span))


@dataclasses.dataclass
class PhaseResult:
    """What one phase measured."""

    spec: PhaseSpec
    server: str
    wall: float  # seconds from the first client's start to the last client's end
    done: int  # units completed (executions started, or round trips)
    latencies: list[float]  # every request, seconds
    cpu: float  # server CPU seconds over the phase
    stats: dict  # errors and empty polls, by kind

    @property
    def rate(self) -> float:
        """Units (starts or round trips) per second."""
        return self.done / self.wall if self.wall else 0.0

    @property
    def requests(self) -> int:
        """HTTP requests made (each poll and each respond counts)."""
        return len(self.latencies)

    @property
    def cpu_per_request(self) -> float:
        """Server CPU seconds per request."""
        return self.cpu / self.requests if self.requests else float("nan")

    def percentile(self, fraction: float) -> float:
        """The latency below which ``fraction`` of requests fall, in seconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered))) - 1))]


class ClientPool:
    """``processes`` client processes, forked once; each phase spreads its clients over them.

    A phase with concurrency C uses ``min(C, processes)`` processes, each running
    ``C / processes`` threads with one botocore client per thread.
    """

    def __init__(self, processes: int):
        context = multiprocessing.get_context("fork")
        self._workers = []
        self._counter = context.Value("q", 0)  # the next unit of the current phase
        for _ in range(processes):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_worker_main, args=(child_end, self._counter), daemon=True)
            process.start()
            child_end.close()
            self._workers.append((process, parent_end))

    @property
    def size(self) -> int:
        """How many client processes there are."""
        return len(self._workers)

    def run(self, server: ServerProcess, spec: PhaseSpec) -> PhaseResult:
        """Run one phase against ``server`` and measure it."""
        used = self._workers[: min(spec.concurrency, self.size)]
        if spec.concurrency % len(used):
            raise ValueError(f"concurrency {spec.concurrency} does not split over {len(used)} processes")
        per_process = spec.concurrency // len(used)
        self._counter.value = 0
        for _, conn in used:
            conn.send((spec, per_process))
        for _, conn in used:
            if conn.recv() != "ready":
                raise RuntimeError("client process failed to get ready")
        cpu_before = server.cpu_seconds()
        for _, conn in used:
            conn.send("go")
        latencies: list[float] = []
        done = 0
        stats: Counter = Counter()
        spans = []
        for _, conn in used:
            process_latencies, process_done, process_stats, span = conn.recv()
            latencies += process_latencies
            done += process_done
            stats.update(process_stats)
            spans.append(span)
        cpu = server.cpu_seconds() - cpu_before
        # From the first client's start to the last client's end, as the clients saw it:
        # the messages that release and collect the clients are not the server's time.
        wall = max(end for _, end in spans) - min(start for start, _ in spans)
        return PhaseResult(spec, server.name, wall, done, latencies, cpu, dict(stats))

    def close(self) -> None:
        """Stop the client processes."""
        for process, conn in self._workers:
            try:
                conn.send(None)
            except OSError:
                pass
        for process, _ in self._workers:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
        self._workers = []


# --- the null server ----------------------------------------------------------------------


class _NullProtocol(asyncio.Protocol):
    """Answers every HTTP request at once with a minimal valid SWF body (keep-alive).

    asyncio sets TCP_NODELAY on its TCP sockets, so there is no Nagle stall; the parsing is
    the least that keeps requests apart, so that the server's own cost stays well below the
    client's and the figures measure botocore.
    """

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length, start = 0, False
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"x-amz-target":
                    start = value.strip().endswith(b"StartWorkflowExecution")
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            body = b'{"runId": "null"}' if start else b"{}"
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )


def _serve_null(port: int) -> None:
    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(_NullProtocol, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "null-server" and sys.argv[2] == "--port":
        _serve_null(int(sys.argv[3]))
    else:
        sys.exit("usage: python _swf_workload.py null-server --port PORT")
