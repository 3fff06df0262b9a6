"""The decider: a decision task in, decisions out, with a cache of live runs.

``Decider.decide(task, fetch_history)`` answers one PollForDecisionTask response:

1. If the run is in the live-run cache and the task continues exactly where the cached run
   stopped (``previousStartedEventId`` is the run's last decided ``DecisionTaskStarted``),
   only the new events are fed to the suspended run: a decision costs O(new events).
2. Otherwise (a miss, or anything inconsistent on the cached path) the run is rebuilt by
   replaying the whole history, from the task when it holds all of it, else from
   ``fetch_history()``.
3. The run's unconfirmed commands become the decisions (``_split.py``).

A :class:`~greenflow.errors.NonDeterministicWorkflowError` (or a
:class:`~greenflow.errors.WorkflowBlockingError`) propagates: the worker must not answer the
task, so SWF times it out and retries it until fixed code is deployed. With
``fail_on_nondeterminism=True`` the decider answers ``FailWorkflowExecution`` instead.

A Decider and its cached runs belong to one thread (greenlets cannot change threads).
"""

from __future__ import annotations

import collections
import logging
from typing import Any, Callable, Iterable

from greenflow.converter import DEFAULT_CONVERTER, register_signature
from greenflow.errors import DefinitionError, NonDeterministicWorkflowError

from ._definition import workflow_types
from ._history import decided_events, infer_run_id
from ._run import WorkflowRun
from ._split import DecisionResult, build_decisions
from ._watchdog import DEFAULT_STEP_TIMEOUT

log = logging.getLogger("greenflow.workflow")


def build_registry(workflow_classes: Iterable[type]) -> dict:
    """``(name, version) -> (class, method_name)`` for the given workflow classes."""
    registry: dict = {}
    for cls in workflow_classes:
        for wtype in workflow_types(cls):
            key = (wtype.name, wtype.version)
            if key in registry and registry[key] != (cls, wtype.method_name):
                other = registry[key][0]
                raise DefinitionError(f"workflow type {wtype.name} version {wtype.version} is defined twice: by "
                                      f"{other.__qualname__} and {cls.__qualname__}")
            registry[key] = (cls, wtype.method_name)
    return registry


def vars_lookup(cls: type, name: str) -> Any:
    """Attribute ``name`` of ``cls`` or a base, as stored (the descriptor, not what it returns)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


class Decider:
    """Replays histories of the given workflow classes and decides what they do next.

    Args:
        workflow_classes: ``WorkflowDefinition`` subclasses (every ``@execute`` version counts).
        cache_size: how many suspended runs to keep (LRU); 0 disables the cache.
        converter: the data converter (default: ``greenflow.converter.DEFAULT_CONVERTER``).
        fail_on_nondeterminism: answer ``FailWorkflowExecution`` instead of raising
            :class:`~greenflow.errors.NonDeterministicWorkflowError`.
        step_timeout: the longest one step of workflow code (between two blocking calls)
            may run, in real seconds, before it is stopped with
            :class:`~greenflow.errors.WorkflowBlockingError` (see ``_watchdog``); ``None``
            or 0 turns the check off.

    ``stats`` counts ``decisions``, ``cache_hits``, ``full_replays``, ``events_replayed``
    (events fed to runs; with the cache, only the new ones) and ``evictions`` (cached runs
    dropped to make room).
    """

    def __init__(self, workflow_classes: Iterable[type], *, cache_size: int = 1000, converter: Any = None,
                 fail_on_nondeterminism: bool = False, step_timeout: float | None = DEFAULT_STEP_TIMEOUT):
        self.registry = build_registry(workflow_classes)
        if not isinstance(cache_size, int) or cache_size < 0:
            raise ValueError(f"cache_size must be an int >= 0, not {cache_size!r}")
        self.cache_size = cache_size
        self.converter = converter or DEFAULT_CONVERTER
        for cls, method_name in self.registry.values():
            # Decoding a run's input and signals with this converter depends only on the code.
            definition = cls._gf_definition
            if definition.converter is None:
                for name in (method_name, *definition.signals.values(), *definition.queries.values()):
                    function = vars_lookup(cls, name)
                    if function is not None:
                        register_signature(getattr(function, "fn", function), self.converter)
        self.fail_on_nondeterminism = fail_on_nondeterminism
        if step_timeout is not None and (isinstance(step_timeout, bool) or not isinstance(step_timeout, (int, float))
                                         or step_timeout < 0):
            raise ValueError(f"step_timeout must be None or a number of seconds >= 0, not {step_timeout!r}")
        self.step_timeout = step_timeout
        self._cache: collections.OrderedDict[tuple[str, str], WorkflowRun] = collections.OrderedDict()
        self.stats = {"decisions": 0, "cache_hits": 0, "full_replays": 0, "events_replayed": 0, "evictions": 0}

    # ---------------------------------------------------------------- public
    def decide(self, task: dict, fetch_history: Callable[[], Iterable[dict]] | None = None) -> DecisionResult:
        """Answer one decision task (a PollForDecisionTask response with all pages merged).

        ``fetch_history()`` returns the execution's whole history; it is called only when
        the task holds just the tail (``startAtPreviousStartedEvent``) and the run is not
        cached. Raises :class:`NonDeterministicWorkflowError` when the code no longer
        matches the history.
        """
        missing = [k for k in ("workflowExecution", "startedEventId") if not task.get(k)]
        if missing or not isinstance(task.get("events", []), list):
            raise ValueError(f"not a PollForDecisionTask response (missing {', '.join(missing) or 'events list'}); "
                             "an empty poll (no taskToken) has nothing to decide")
        execution = task["workflowExecution"]
        key = (execution["workflowId"], execution["runId"])
        started = task["startedEventId"]
        events = task.get("events") or []
        self.stats["decisions"] += 1
        run = self._cache.pop(key, None)
        if run is not None:
            result = self._continue(run, task, events, started)
            if result is not None:
                return result
        events = self._full_history(events, started, fetch_history)
        run = self._new_run(key[0], key[1])
        self.stats["full_replays"] += 1
        try:
            run.feed(events, final_started_id=started)
        except NonDeterministicWorkflowError as error:
            run.kill()
            if self.fail_on_nondeterminism:
                return self._fail_decision(error)
            raise
        except BaseException:
            run.kill()
            raise
        finally:
            self.stats["events_replayed"] += run.events_handled
        return self._finish(key, run, started)

    def query(self, events: Iterable[dict], query_name: str, args: Iterable[Any] = (), *,
              workflow_id: str = "", run_id: str = "") -> Any:
        """Replay ``events`` and evaluate ``@query`` ``query_name(*args)`` on the workflow's state.

        Give ``run_id`` when the workflow uses ``random()``/``uuid4()``: they are seeded from it.
        Only decided history is replayed (a decision in flight is left out, see
        :func:`~greenflow.workflow._history.decided_events`), so nothing runs live: a query never
        runs a ``side_effect`` function, and one that makes a command gets ``GF-QUERY``.
        The built-in query ``"__stack_trace"`` works on every workflow (see ``_stack``).
        """
        events = decided_events(list(events))
        run = self._new_run(workflow_id, run_id or infer_run_id(events))
        try:
            run.feed(events)
            return run.query(query_name, tuple(args))
        finally:
            run.kill()

    def _new_run(self, workflow_id: str, run_id: str) -> WorkflowRun:
        run = WorkflowRun(self.registry, workflow_id, run_id, self.converter)
        run.step_timeout = self.step_timeout
        return run

    def evict(self, workflow_id: str, run_id: str) -> bool:
        """Drop a cached run (e.g. after its decisions could not be sent); True if it was cached."""
        run = self._cache.pop((workflow_id, run_id), None)
        if run is None:
            return False
        run.kill()
        return True

    def clear(self) -> None:
        """Drop every cached run, unwinding its greenlets."""
        while self._cache:
            _, run = self._cache.popitem(last=False)
            run.kill()

    def __len__(self) -> int:
        return len(self._cache)

    def cached_run(self, workflow_id: str, run_id: str) -> WorkflowRun | None:
        """The cached run of an execution, if any (for tests and introspection)."""
        return self._cache.get((workflow_id, run_id))

    # ---------------------------------------------------------------- internals
    def _continue(self, run: WorkflowRun, task: dict, events: list[dict], started: int) -> DecisionResult | None:
        """Feed the new events to a cached run; None means "fall back to a full replay"."""
        previous = task.get("previousStartedEventId")
        if previous != run.flushed_started or run.fatal_error is not None or not events \
                or events[-1]["eventId"] != started:
            run.kill()
            return None
        before = run.events_handled
        try:
            run.feed(events, final_started_id=started)
        except Exception as error:  # noqa: BLE001 - any doubt: rebuild from the full history
            log.debug("cached run %s/%s inconsistent (%s); replaying its full history",
                      run.workflow_id, run.run_id, error)
            self.stats["events_replayed"] += run.events_handled - before
            run.kill()
            return None
        self.stats["events_replayed"] += run.events_handled - before
        self.stats["cache_hits"] += 1
        return self._finish((run.workflow_id, run.run_id), run, started)

    @staticmethod
    def _full_history(events: list[dict], started: int, fetch_history) -> list[dict]:
        if not events or events[0]["eventId"] != 1:
            if fetch_history is None:
                raise ValueError("the decision task holds only part of the history and no fetch_history was given")
            events = list(fetch_history())
        # A fetched history may already hold events newer than this task.
        if events and events[-1]["eventId"] > started:
            events = [e for e in events if e["eventId"] <= started]
        return events

    def _finish(self, key: tuple[str, str], run: WorkflowRun, started: int) -> DecisionResult:
        result = build_decisions(run, started)
        closing = run.close is not None and result.execution_context is None
        if closing or run.closed or self.cache_size == 0:
            run.kill()
        else:
            self._cache[key] = run
            while len(self._cache) > self.cache_size:
                _, old = self._cache.popitem(last=False)
                old.kill()
                self.stats["evictions"] += 1
        return result

    def _fail_decision(self, error: NonDeterministicWorkflowError) -> DecisionResult:
        return DecisionResult([{"decisionType": "FailWorkflowExecution", "failWorkflowExecutionDecisionAttributes": {
            "reason": "NonDeterministicWorkflowError", "details": str(error)[:32768]}}])
