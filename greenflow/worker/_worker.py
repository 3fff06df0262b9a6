"""``Worker``: one object that runs the workflow and activity workers an application needs."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Self

import gevent
import gevent.event

from ..activity._definition import activity_types
from ..workflow._definition import workflow_types
from ._activity import ActivityWorker
from ._loop import PollingWorker, stop_signals
from ._workflow import WorkflowWorker

log = logging.getLogger("greenflow.worker")

#: The task list of workflow classes and activities that declare none.
DEFAULT_TASK_LIST = "default"


class Worker:
    """Runs ``workflows`` and ``activities`` on one domain: one worker per kind and task list.

    Each workflow class is decided on the task list it declares (``@execute(task_list=...)``),
    each ``@activities`` object runs on the one its class declares, else ``task_list``. So
    ``Worker(client, "shop", workflows=[Order], activities=[Payments(), Shipping()])`` starts
    a :class:`WorkflowWorker` and as many :class:`ActivityWorker` as there are task lists.

    Args:
        client: an :class:`~greenflow.swf.SWFClient` (from :func:`greenflow.connect`) or a
            botocore ``swf`` client.
        domain: the SWF domain.
        workflows: ``WorkflowDefinition`` subclasses.
        activities: instances of ``@activities`` classes.
        task_list: the task list for everything (overriding what the classes declare), or
            ``None``: what each declares, else ``"default"``.
        workflow_options: keyword arguments for every :class:`WorkflowWorker`
            (``pollers``, ``cache_size``, ``fail_on_nondeterminism``, ...).
        activity_options: keyword arguments for every :class:`ActivityWorker`
            (``pool_size``, ``pollers``, ``executor``, ...).
        eager_activities: on a greenflow local service, activity tasks the decisions
            schedule are started for this process's activity worker in the answer to the
            decisions, without a poll round trip (``False``: every task is polled for).
        eager_decisions: likewise, the first decision task of an execution started through
            the same client, the decision task that follows an activity's answer, and the
            next decision task waiting on a workflow worker's task list after each of its
            decisions, are started for this process's workflow worker in the start's or the
            answer's answer (``False``: polled for).
        **options: keyword arguments both kinds take: ``identity``, ``register``,
            ``retention_days``, ``shutdown_timeout``.

    ``run()`` blocks until SIGINT/SIGTERM or :meth:`stop` (a second signal interrupts what
    still runs); ``start()``/``stop()`` and ``with worker:`` run it in the background.
    """

    def __init__(self, client: Any, domain: str, *, workflows: Iterable[type] = (), activities: Iterable[Any] = (),
                 task_list: str | None = None, workflow_options: dict[str, Any] | None = None,
                 activity_options: dict[str, Any] | None = None, eager_activities: bool = True,
                 eager_decisions: bool = True, **options: Any):
        workflows, activities = list(workflows), list(activities)
        if not workflows and not activities:
            raise ValueError("a Worker needs workflows, activities or both")
        workflow_groups: dict[str, list[type]] = {}
        for cls in workflows:
            declared = next((kind.task_list for kind in workflow_types(cls) if kind.task_list), None)
            workflow_groups.setdefault(task_list or declared or DEFAULT_TASK_LIST, []).append(cls)
        activity_groups: dict[str, list[Any]] = {}
        for obj in activities:
            declared = next((kind.task_list for kind, _ in activity_types(obj) if kind.task_list), None)
            activity_groups.setdefault(task_list or declared or DEFAULT_TASK_LIST, []).append(obj)
        #: The workers, one per kind and task list, in start order.
        self.workers: list[PollingWorker] = []
        for name, classes in workflow_groups.items():
            self.workers.append(WorkflowWorker(client, domain, name, *classes, **options, **(workflow_options or {})))
        for name, objects in activity_groups.items():
            self.workers.append(ActivityWorker(client, domain, name, *objects, **options, **(activity_options or {})))
        # Activity tasks that decisions schedule go straight to this process's activity
        # worker: the one on the workflow worker's task list, else the first. (The service
        # hands over only tasks waiting on that worker's task list; others are polled.)
        activity_workers = {worker.task_list: worker for worker in self.workers if isinstance(worker, ActivityWorker)}
        workflow_workers = [worker for worker in self.workers if isinstance(worker, WorkflowWorker)]
        if activity_workers and eager_activities:
            for worker in workflow_workers:
                worker.activity_worker = (activity_workers.get(worker.task_list)
                                          or next(iter(activity_workers.values())))
        # And the decision task that follows an activity's answer goes straight to this
        # process's workflow worker (the service hands it over only when it waits on that
        # worker's task list).
        for workflow_worker in workflow_workers:
            workflow_worker.eager_decisions = workflow_worker.eager_decisions and eager_decisions
        if workflow_workers and eager_decisions:
            for workflow_worker in workflow_workers:
                workflow_worker.eager_start = True
            for activity_worker in activity_workers.values():
                activity_worker.workflow_worker = next(
                    (w for w in workflow_workers if w.task_list == activity_worker.task_list), workflow_workers[0])
        self.domain = domain
        self._stop_requested = gevent.event.Event()

    def __repr__(self) -> str:
        return f"<Worker {self.domain} {', '.join(repr(worker) for worker in self.workers)}>"

    @property
    def running(self) -> bool:
        """Whether any of the workers is running."""
        return any(worker.running for worker in self.workers)

    def start(self) -> Self:
        """Start every worker (registering their types); returns self."""
        self._stop_requested.clear()
        for worker in self.workers:
            worker.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop every worker at once, gracefully (see :meth:`PollingWorker.stop`)."""
        self._stop_requested.set()
        gevent.joinall([gevent.spawn(worker.stop, timeout) for worker in self.workers])

    def _interrupt(self) -> None:
        for worker in self.workers:
            gevent.spawn(worker.stop, 0)

    def run(self) -> None:
        """Start and block until :meth:`stop`, SIGINT or SIGTERM; then stop gracefully.

        A second signal interrupts what still runs.
        """
        if not self.running:
            self.start()
        with stop_signals(self._stop_requested.set, self._interrupt, cooperative=True):
            try:
                self._stop_requested.wait()
            except KeyboardInterrupt:
                log.info("worker: interrupted")
            finally:
                self.stop()

    def __enter__(self) -> Self:
        """Start in the background; leaving the block stops every worker."""
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        """Stop every worker gracefully."""
        self.stop()
