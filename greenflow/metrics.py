"""Prometheus metrics of greenflow workers and clients (the optional ``metrics`` extra).

Off by default. One call turns them on for the whole process and serves them over HTTP::

    from greenflow.metrics import enable_metrics
    enable_metrics(port=9464)          # http://127.0.0.1:9464/metrics

(``greenflow worker --metrics-port 9464`` does the same; the local service has its own,
``greenflow server --metrics-port``, see :mod:`greenflow.local.metrics`). The metrics are
gathered by a :class:`MetricsInterceptor` installed process-wide through
:mod:`greenflow.interceptors`, so they see what any interceptor sees:

========================================== ============================================
``greenflow_decision_task_seconds``         decision task handling time (replay, decide,
                                            answer), by workflow type and outcome
``greenflow_decision_replay_events``        history events replayed per decision task
                                            (its replay cost; small with the cache)
``greenflow_workflow_cache_total``          live-run cache ``hit``, ``miss``, ``eviction``
``greenflow_activity_run_seconds``          activity function run time, by type, outcome
``greenflow_polls_total``                   long polls by worker kind and outcome
                                            (``task``, ``empty``, ``error``)
``greenflow_failures_total``                failures by kind (``activity``, ``workflow``,
                                            ``decision``) and cause (exception type)
``greenflow_swf_retries_total``             SWF calls retried, by operation and error
                                            code (``ThrottlingException``, outages)
``greenflow_task_list_backlog``             tasks waiting in each polled task list (SWF's
                                            ``Count*PendingTasks``, read at scrape time)
========================================== ============================================

Activity schedule-to-start times are measured where they are known, on the service
(``greenflow_service_activity_schedule_to_start_seconds``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .interceptors import ActivityCall, Interceptor, WorkflowTaskCall, install, uninstall

__all__ = ["MetricsInterceptor", "enable_metrics", "disable_metrics", "current_metrics", "metrics_address"]

log = logging.getLogger("greenflow.metrics")

#: Buckets for task handling and activity times, in seconds (1 ms to 10 min).
TIME_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
#: Buckets for events replayed per decision task.
EVENT_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2500, 5000, 10000, 25000)


class _Backlog(Collector):
    """The ``greenflow_task_list_backlog`` gauge, read from SWF when Prometheus scrapes."""

    def __init__(self) -> None:
        self._watched: dict[tuple[str, str, str], Any] = {}  # (kind, domain, task list) -> SWF client
        self._lock = threading.Lock()

    def watch(self, kind: str, swf: Any, domain: str, task_list: str) -> None:
        with self._lock:
            self._watched[(kind, domain, task_list)] = swf

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("greenflow_task_list_backlog", "Tasks waiting for a worker in a polled task list",
                                   labels=["kind", "domain", "task_list"])
        with self._lock:
            watched = list(self._watched.items())
        for (kind, domain, task_list), swf in watched:
            operation = "CountPendingDecisionTasks" if kind == "decision" else "CountPendingActivityTasks"
            try:
                count = swf.call(operation, domain=domain, taskList={"name": task_list})["count"]
            except Exception as error:  # a scrape must not fail because SWF is away: leave it out
                log.debug("backlog of %s/%s unavailable: %s", domain, task_list, error)
                continue
            family.add_metric([kind, domain, task_list], float(count))
        yield family


class MetricsInterceptor(Interceptor):
    """Records greenflow's metrics in ``registry`` (a new one by default).

    Install it process-wide with :func:`enable_metrics`, or pass it to chosen workers'
    ``interceptors=[...]`` and serve ``registry`` yourself.
    """

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.decision_seconds = Histogram("greenflow_decision_task_seconds", "Decision task handling time",
                                          ["workflow_type", "outcome"], buckets=TIME_BUCKETS, registry=r)
        self.replay_events = Histogram("greenflow_decision_replay_events", "History events replayed per decision task",
                                       ["workflow_type"], buckets=EVENT_BUCKETS, registry=r)
        self.cache = Counter("greenflow_workflow_cache", "Live-run cache results", ["result"], registry=r)
        self.activity_seconds = Histogram("greenflow_activity_run_seconds", "Activity function run time",
                                          ["activity_type", "outcome"], buckets=TIME_BUCKETS, registry=r)
        self.polls = Counter("greenflow_polls", "Long polls by outcome", ["worker", "outcome"], registry=r)
        self.failures = Counter("greenflow_failures", "Failures by kind and cause", ["kind", "cause"], registry=r)
        self.retries = Counter("greenflow_swf_retries", "SWF calls retried", ["operation", "code"], registry=r)
        self.backlog = _Backlog()
        r.register(self.backlog)

    def handle_workflow_task(self, call: WorkflowTaskCall, proceed: Callable[[], Any]) -> Any:
        """Time the task; count cache use, replay cost and failures from its outcome."""
        start = time.perf_counter()
        try:
            outcome = proceed()
        except BaseException as error:
            self.decision_seconds.labels(call.workflow_type, "error").observe(time.perf_counter() - start)
            self.failures.labels("decision", type(error).__name__).inc()
            raise
        self.decision_seconds.labels(call.workflow_type, outcome.outcome).observe(time.perf_counter() - start)
        self.replay_events.labels(call.workflow_type).observe(outcome.events_replayed)
        self.cache.labels("hit" if outcome.cache_hit else "miss").inc()
        if outcome.evictions:
            self.cache.labels("eviction").inc(outcome.evictions)
        if outcome.outcome not in ("completed",):
            self.failures.labels("decision", outcome.outcome).inc()
        for reason in outcome.workflow_failures:
            self.failures.labels("workflow", reason or "unknown").inc()
        return outcome

    def execute_activity(self, call: ActivityCall, proceed: Callable[[], Any]) -> Any:
        """Time the activity function; count its failures by exception type."""
        start = time.perf_counter()
        try:
            result = proceed()
        except BaseException as error:
            self.activity_seconds.labels(call.activity_type, "failed").observe(time.perf_counter() - start)
            self.failures.labels("activity", type(error).__name__).inc()
            raise
        self.activity_seconds.labels(call.activity_type, "completed").observe(time.perf_counter() - start)
        return result

    def worker_started(self, worker: Any) -> None:
        """Watch the worker's task list backlog."""
        kind = "decision" if "workflow" in str(getattr(worker, "kind", "")) else "activity"
        self.backlog.watch(kind, worker.swf, worker.domain, worker.task_list)

    def poll_completed(self, worker: Any, outcome: str) -> None:
        """Count the poll's outcome."""
        self.polls.labels(str(getattr(worker, "kind", "worker")), outcome).inc()

    def swf_retry(self, operation: str, error: BaseException, attempt: int, delay: float) -> None:
        """Count the retry by operation and error code."""
        self.retries.labels(operation, str(getattr(error, "code", "") or type(error).__name__)).inc()


_current: MetricsInterceptor | None = None
_server: Any = None
_lock = threading.Lock()


def enable_metrics(port: int | None = None, host: str = "127.0.0.1") -> MetricsInterceptor:
    """Turn greenflow's metrics on for every worker and SWF client of this process.

    Args:
        port: serve them at ``http://HOST:PORT/metrics`` (0: a free port, see
            :func:`metrics_address`); ``None`` records without serving (read
            ``enable_metrics().registry`` yourself).
        host: the address to listen on (loopback by default).

    Returns the installed :class:`MetricsInterceptor` (the same one on later calls).
    """
    global _current, _server
    with _lock:
        if _current is None:
            _current = MetricsInterceptor()
            install(_current)
        if port is not None and _server is None:
            _server = start_http_server(port, addr=host, registry=_current.registry)
            log.info("greenflow metrics on http://%s:%d/metrics", host, _server[0].server_port)
        return _current


def metrics_address() -> tuple[str, int] | None:
    """Where :func:`enable_metrics` serves (host, port), or ``None``."""
    if _server is None:
        return None
    host, port = _server[0].server_address[:2]
    return str(host), int(port)


def disable_metrics() -> None:
    """Stop recording and serving (for tests and embedding)."""
    global _current, _server
    with _lock:
        if _current is not None:
            uninstall(_current)
            _current = None
        if _server is not None:
            server, thread = _server
            server.shutdown()
            server.server_close()
            thread.join(5)
            _server = None


def current_metrics() -> MetricsInterceptor | None:
    """The interceptor :func:`enable_metrics` installed, if any."""
    return _current
