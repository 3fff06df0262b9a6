"""The state one workflow run holds, and the few operations every part of the run shares.

:class:`RunState` owns the fields (commands pending, futures by event, timers, markers,
the close decision...). The parts that read and write them are mixins over it:
``_replay`` (history batches, matching events to commands), ``_results`` (applying a
batch's events), ``_markers`` (``side_effect()``, ``version()``) and ``_run`` (the commands
workflow code makes), joined as :class:`~greenflow.workflow._run.WorkflowRun`.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import random as _random
from typing import Any

from greenflow._swf_rules import FORBIDDEN_NAME_CHARS
from greenflow.converter import failure_from_exception
from greenflow.errors import WorkflowError

from . import _commands as C
from ._cancel import track
from ._hub import Hub, RunEvicted, WorkflowGreenlet
from ._watchdog import DEFAULT_STEP_TIMEOUT


@dataclasses.dataclass(frozen=True)
class WorkflowInfo:
    """Facts about the current execution, from its ``WorkflowExecutionStarted`` event."""

    workflow_id: str
    run_id: str
    workflow_type: tuple[str, str]
    task_list: str
    task_priority: int | None
    child_policy: str | None
    execution_start_to_close_timeout: int | None
    task_start_to_close_timeout: int | None
    tags: tuple[str, ...]
    parent_workflow_id: str | None
    parent_run_id: str | None
    continued_execution_run_id: str | None
    start_time: datetime.datetime | None


def load_optional(converter: Any, text: str | None) -> Any:
    """``text`` loaded by ``converter``; ``None`` stays ``None``."""
    return None if text is None else converter.loads(text)


class RunState:
    """The fields of one workflow run and what every part of it does with them.

    Not thread-safe: a run (its greenlets) belongs to the thread that created it.
    """

    def __init__(self, registry: dict, workflow_id: str, run_id: str, converter):
        self.registry = registry
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.default_converter = converter
        self.converter = converter
        self.hub = Hub(self)
        self.counter = 0
        self.command_seq = 0
        self.pending: dict[tuple[str, str], C.Command] = {}
        self.by_event: dict[int, Any] = {}  # initiating event id -> its command (of any kind)
        self.timers: dict[str, C.Command] = {}
        self.cancelling: set[tuple[str, str]] = set()
        self.events: list[dict] = []  # applied at the next batch
        self.cut: int | None = None
        self.cut_event: dict | None = None
        self.last_event_id = 0
        self.flushed_started = 0
        self.last_dtc_id = 0
        self.last_dtc_split = False
        self.batch = 0
        self.replaying = True
        self.now: datetime.datetime | None = None
        self.markers: dict[str, str | None] = {}
        self.versions: dict[str, int] = {}
        self.skipped_markers: set[str] = set()  # version markers replay passed with no version() call
        self.close: C.Close | None = None
        self.closed = False
        self.cancel_requested = False
        self.main: WorkflowGreenlet | None = None
        self.instance: Any = None
        self.definition: Any = None
        self.info: WorkflowInfo | None = None
        #: The only exception classes history may rebuild in this run (see ``_known``).
        self.known_exceptions: dict[str, type] = {}
        self.fatal_error: BaseException | None = None
        #: The longest one step of this run's workflow code may run (see ``_watchdog``).
        self.step_timeout: float | None = DEFAULT_STEP_TIMEOUT
        self.open = {"activity": 0, "timer": 0, "child": 0}
        self.events_handled = 0
        self.query_mode = False
        # SWF run IDs are base64 ("...a/b+c="): '/' is not allowed in a workflow ID, so child
        # IDs use '_' instead (injective on base64). random()/uuid4() are seeded from the same
        # text, so a replayer that only recovered it from a child ID still seeds identically.
        self.id_prefix = FORBIDDEN_NAME_CHARS.sub("_", run_id)
        self.random = _random.Random(int.from_bytes(hashlib.sha256(self.id_prefix.encode()).digest()[:8], "big"))

    def fatal(self, exc: BaseException) -> None:
        """Record an error that must fail the decision task (not the execution)."""
        if self.fatal_error is None:
            self.fatal_error = exc

    def _check_may_command(self) -> None:
        """Raise unless workflow code may make a command now (not while evicted, not in a query)."""
        if self.hub._killing:
            raise RunEvicted()
        if self.query_mode:
            raise WorkflowError("GF-QUERY: queries must not make commands (activities, timers, side_effect, "
                                "markers...): a query only reads workflow state")

    def _add(self, command: C.Command) -> None:
        self._check_may_command()
        if command.key in self.pending:
            raise WorkflowError(f"{command.describe()} duplicates a command of this run that SWF has not "
                                "recorded yet (a child workflow ID used twice?)")
        command.batch = self.batch
        self.command_seq += 1
        command.seq = self.command_seq
        track(command)
        self.pending[command.key] = command

    def next_id(self) -> str:
        """The next command ID of this run ("1", "2"...): the order of calls is the order of IDs."""
        self.counter += 1
        return str(self.counter)

    def _fail(self, exc: BaseException) -> None:
        reason, details = failure_from_exception(exc, self.converter)
        self._set_close(C.Close("FailWorkflowExecution", {"reason": reason, "details": details}))

    def _set_close(self, close: C.Close) -> None:
        close.batch = self.batch
        self.close = close

    @property
    def workflow_name(self) -> str:
        """The workflow type's name, once history started the workflow ("" before)."""
        return self.info.workflow_type[0] if self.info is not None else ""

