"""Prometheus metrics of the local SWF service (the optional ``metrics`` extra).

Off by default; ``greenflow server --metrics-port 9465`` (or :func:`serve_service_metrics`)
serves them at ``http://127.0.0.1:9465/metrics``:

=================================================== ======================================
``greenflow_service_requests_total``                 requests by operation and HTTP status
``greenflow_service_request_seconds``                answer time by operation (long polls
                                                     include their wait)
``greenflow_service_activity_schedule_to_start_seconds`` from ``ActivityTaskScheduled`` to a
                                                     worker taking the task, by type
``greenflow_service_task_list_backlog``              pending tasks per task list and kind
``greenflow_service_waiting_pollers``                long polls waiting per task list
``greenflow_service_open_executions``                open runs
=================================================== ======================================

The gauges are read from the service when Prometheus scrapes; the rest is recorded as it
happens, from the service's thread.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["ServiceMetrics", "serve_service_metrics"]

log = logging.getLogger("greenflow.local.metrics")

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


def _snapshot(core: Any) -> tuple[list[tuple[str, str, str, int, int]], int]:
    """(kind, domain, task list, pending, waiting pollers) per task list, and open runs; in the service thread."""
    state = core.engine.core
    rows = [(kind, domain, task_list, len(queue), len(queue.waiters))
            for kind, queues in (("decision", state.decision_queues), ("activity", state.activity_queues))
            for (domain, task_list), queue in queues.items()]
    return rows, state.open_count()


class _State(Collector):
    def __init__(self) -> None:
        self.service: Any = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = GaugeMetricFamily("greenflow_service_task_list_backlog", "Pending tasks per task list",
                                    labels=["kind", "domain", "task_list"])
        pollers = GaugeMetricFamily("greenflow_service_waiting_pollers", "Long polls waiting per task list",
                                    labels=["kind", "domain", "task_list"])
        open_runs = GaugeMetricFamily("greenflow_service_open_executions", "Open runs")
        service = self.service
        if service is not None and service.running:
            try:
                rows, count = service.call(_snapshot)
            except Exception as error:  # stopping, or a core without an engine: report nothing
                log.debug("service state unavailable: %s", error)
            else:
                for kind, domain, task_list, pending, waiting in rows:
                    backlog.add_metric([kind, domain, task_list], float(pending))
                    pollers.add_metric([kind, domain, task_list], float(waiting))
                open_runs.add_metric([], float(count))
        yield backlog
        yield pollers
        yield open_runs


class ServiceMetrics:
    """The local service's metrics in ``registry`` (a new one by default).

    Give it to the service (``LocalService(observer=metrics)``), then :meth:`attach` the
    service so that scrapes can read its state.
    """

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter("greenflow_service_requests", "Requests by operation and status",
                                ["operation", "status"], registry=r)
        self.seconds = Histogram("greenflow_service_request_seconds", "Answer time by operation", ["operation"],
                                 buckets=_BUCKETS, registry=r)
        self.schedule_to_start = Histogram("greenflow_service_activity_schedule_to_start_seconds",
                                           "Activity tasks' wait from scheduled to started",
                                           ["domain", "task_list", "activity_type"], buckets=_BUCKETS, registry=r)
        self._state = _State()
        r.register(self._state)

    def attach(self, service: Any) -> None:
        """Read ``service``'s task lists and open runs at scrape time."""
        self._state.service = service

    def request(self, operation: str, status: int, seconds: float) -> None:
        """Record one answered request."""
        name = operation or "unknown"
        self.requests.labels(name, str(status)).inc()
        self.seconds.labels(name).observe(seconds)

    def activity_started(self, domain: str, task_list: str, activity_type: str, waited: float) -> None:
        """Record an activity task's schedule-to-start time."""
        self.schedule_to_start.labels(domain, task_list, activity_type).observe(waited)


def serve_service_metrics(service: Any, port: int, host: str = "127.0.0.1") -> tuple[Any, Any]:
    """Serve ``service.observer``'s metrics (a :class:`ServiceMetrics`) at ``http://HOST:PORT/metrics``.

    Returns prometheus_client's ``(server, thread)``; ``server.shutdown()`` stops it.
    """
    metrics = service.observer
    if not isinstance(metrics, ServiceMetrics):
        raise ValueError("the service was not built with observer=ServiceMetrics()")
    metrics.attach(service)
    return start_http_server(port, addr=host, registry=metrics.registry)
