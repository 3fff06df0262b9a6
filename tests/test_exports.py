"""Pin the public surface of greenflow.workflow and greenflow.activity (trio/Temporal style).

Adding a name is a deliberate API decision: update the lists here with it.
"""

from __future__ import annotations

import importlib

import pytest

WORKFLOW = [
    "Awaited", "GreenletStack", "STACK_TRACE_QUERY", "StackTrace", "DEFAULT_VERSION", "Decider", "DecisionResult", "Future", "ReplayResult", "Replayer", "RetryPolicy",
    "WorkflowDefinition", "WorkflowInfo", "WorkflowType", "activity_options", "continue_as_new",
    "current_workflow_options", "execute", "info", "is_replaying", "logger", "now", "query", "random",
    "request_cancel_external", "retry", "shield", "side_effect", "signal", "signal_external", "sleep", "spawn", "start_timer",
    "uuid4", "version", "wait_all", "wait_any", "wait_until", "workflow", "workflow_options", "workflow_type_of",
    "workflow_types",
]
ACTIVITY = [
    "ActivityContext", "ActivityType", "ActivityWorker", "ManualActivityCompletionClient", "activities", "activity",
    "activity_types", "context", "heartbeat",
]


@pytest.mark.parametrize("module, names", [("greenflow.workflow", WORKFLOW), ("greenflow.activity", ACTIVITY)])
def test_public_names_are_pinned(module, names):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(names)
    for name in names:
        assert getattr(mod, name) is not None, name
    public = {n for n in dir(mod) if not n.startswith("_")}
    assert public - set(names) <= {"annotations", "importlib"}, public - set(names)


def test_public_objects_show_the_public_module():
    import greenflow.activity as activity
    import greenflow.workflow as workflow

    for name in ("Future", "Decider", "WorkflowDefinition", "sleep", "RetryPolicy", "Replayer"):
        assert getattr(workflow, name).__module__ == "greenflow.workflow", name
    for name in ("ActivityType", "activities", "activity"):
        assert getattr(activity, name).__module__ == "greenflow.activity", name


def test_every_public_name_has_a_docstring():
    import greenflow.activity as activity
    import greenflow.workflow as workflow

    for mod, names in ((workflow, WORKFLOW), (activity, ACTIVITY)):
        for name in names:
            obj = getattr(mod, name)
            if callable(obj) and not isinstance(obj, int):
                assert (obj.__doc__ or "").strip(), f"{mod.__name__}.{name} has no docstring"
