"""Finding workflow classes and activity objects in the modules named on the command line."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterable
from typing import Any

from ._common import UsageError

log = logging.getLogger("greenflow.cli")


def import_spec(spec: str) -> tuple[Any, str | None]:
    """Import ``MODULE`` or ``MODULE:NAME`` (MODULE may be a path to a .py file)."""
    module_name, _, attribute = spec.partition(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = os.path.abspath(module_name)
            if not os.path.isfile(path):
                raise UsageError(f"no such file: {module_name}")
            name = os.path.splitext(os.path.basename(path))[0]
            module = sys.modules.get(name)
            if module is None or os.path.abspath(getattr(module, "__file__", "") or "") != path:
                loader_spec = importlib.util.spec_from_file_location(name, path)
                if loader_spec is None or loader_spec.loader is None:
                    raise UsageError(f"cannot import {module_name!r}: not a Python module")
                module = importlib.util.module_from_spec(loader_spec)
                sys.modules[name] = module
                loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except UsageError:
        raise
    except ImportError as error:
        raise UsageError(f"cannot import {module_name!r}: {error}") from None
    return module, attribute or None


def resolve(module: Any, attribute: str) -> Any:
    """``module.attribute`` for a dotted ``attribute`` (``Class.method``)."""
    obj = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"{module.__name__} has no {attribute!r}") from None
    return obj


def _is_workflow_class(obj: Any) -> bool:
    from ..workflow._definition import WorkflowDefinition, workflow_types
    if not (isinstance(obj, type) and issubclass(obj, WorkflowDefinition) and obj is not WorkflowDefinition):
        return False
    try:
        return bool(workflow_types(obj))
    except Exception:
        return False


def _activity_types_of(obj: Any) -> list[Any]:
    """The ``(ActivityType, method)`` pairs ``obj`` implements ([] if it is no activities object)."""
    from ..activity._definition import activity_types
    try:
        return list(activity_types(obj))
    except Exception:
        return []


def _is_activities_class(obj: Any) -> bool:
    """Whether ``obj`` is a class decorated with ``@activities``."""
    return isinstance(obj, type) and "_gf_activity_types" in vars(obj)


def find_definitions(specs: Iterable[str]) -> tuple[list[type], list[Any]]:
    """The workflow classes and activity *instances* named by ``MODULE[:NAME]`` specs.

    ``@activities`` classes are instantiated with no arguments, unless the module already
    holds an instance of them.
    """
    workflows: list[type] = []
    activity_objects: list[Any] = []
    for spec in specs:
        module, attribute = import_spec(spec)
        candidates = [resolve(module, attribute)] if attribute else list(vars(module).values())
        instances = [obj for obj in candidates if not isinstance(obj, type) and _is_activities_class(type(obj))]
        for obj in candidates:
            if _is_workflow_class(obj):
                if obj not in workflows:
                    workflows.append(obj)
            elif isinstance(obj, type) and _is_activities_class(obj):
                if any(isinstance(instance, obj) for instance in instances + activity_objects):
                    continue
                try:
                    instance = obj()
                except TypeError as error:
                    if attribute:
                        raise UsageError(f"cannot create {obj.__name__}() for its activities ({error}); "
                                         "name an instance instead (MODULE:instance)") from None
                    log.warning("skipping %s: cannot create it without arguments (%s)", obj.__name__, error)
                    continue
                if _activity_types_of(instance):
                    activity_objects.append(instance)
        for instance in instances:
            if all(instance is not known for known in activity_objects):
                activity_objects.append(instance)
    return workflows, activity_objects
