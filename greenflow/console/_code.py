"""The workflow code the console may replay: imported from modules named on its command line.

The stack trace of an open execution comes from replaying its history with the workflow's
own code (the built-in ``__stack_trace`` query), so the console imports the modules the
operator names (``--workflows myapp.workflows``) and nothing else: a workflow type in
history never makes the console import anything.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import Any, Iterable

from greenflow.converter import DEFAULT_CONVERTER, DataConverter
from greenflow.worker import Decider
from greenflow.workflow import WorkflowDefinition
from greenflow.workflow._definition import workflow_types

__all__ = ["WorkflowCode", "StackTrace", "STACK_TRACE_QUERY"]

#: The built-in query that reports where each workflow greenlet waits.
STACK_TRACE_QUERY = "__stack_trace"


@dataclasses.dataclass
class StackTrace:
    """What the stack-trace replay found, or why there is none.

    Attributes:
        frames: what the query returned (a list of greenlets' positions), when it ran.
        problem: why there is no stack trace (code not importable, replay failed, ...).
    """

    frames: Any = None
    problem: str = ""


class WorkflowCode:
    """Workflow classes by type, from classes given directly or from modules to import.

    Args:
        classes: ``WorkflowDefinition`` subclasses.
        modules: module names to import and search for ``WorkflowDefinition`` subclasses.

    Raises:
        ImportError: a named module cannot be imported (raised when the console starts,
            so that a typo is seen at once, not as a vague page later).
    """

    def __init__(self, classes: Iterable[type] = (), modules: Iterable[str] = ()):
        self.modules = list(modules)
        found = list(classes)
        for name in self.modules:
            module = importlib.import_module(name)
            found += [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                      if issubclass(obj, WorkflowDefinition) and obj is not WorkflowDefinition
                      and obj.__module__ == module.__name__]
        self._by_type: dict[tuple[str, str], type] = {}
        for cls in found:
            for kind in workflow_types(cls):
                self._by_type.setdefault((kind.name, kind.version), cls)

    def __len__(self) -> int:
        return len(self._by_type)

    def class_for(self, name: str, version: str) -> type | None:
        """The class that defines workflow type ``(name, version)``, if its code is loaded."""
        return self._by_type.get((name, version))

    def converter_for(self, name: str, version: str) -> DataConverter:
        """The workflow's own converter (``@workflow(converter=...)``), else the default JSON one."""
        definition = getattr(self.class_for(name, version), "_gf_definition", None)
        return getattr(definition, "converter", None) or DEFAULT_CONVERTER

    def stack_trace(self, events: list[dict], name: str, version: str, workflow_id: str, run_id: str) -> StackTrace:
        """Replay ``events`` with the workflow's code and ask where each greenlet waits."""
        cls = self.class_for(name, version)
        if cls is None:
            where = ", ".join(self.modules) if self.modules else "no module"
            return StackTrace(problem=(
                f"The code of workflow type {name} {version} is not importable in this console "
                f"(it loaded {where}). Start the console with --workflows MODULE naming the module "
                f"that defines it, on a machine where that module can be imported."))
        decider = Decider([cls], cache_size=0, converter=self.converter_for(name, version))
        try:
            return StackTrace(frames=decider.query(events, STACK_TRACE_QUERY, (), workflow_id=workflow_id,
                                                   run_id=run_id))
        except Exception as error:  # replay of user code: whatever it raises is shown, not a 500
            if f"no query {STACK_TRACE_QUERY!r}" in str(error):
                return StackTrace(problem=f"This greenflow has no stack-trace replay ({error}).")
            return StackTrace(problem=f"Replaying the history failed: {type(error).__name__}: {error}")
