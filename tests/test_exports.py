"""Pin the public surface of every public module (trio/Temporal style).

Adding a name is a deliberate API decision: update the lists here with it. Every pinned
name must resolve, and every public class and function must have a docstring.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

TOP = [
    "ActivityWorker", "LocalService", "ManualActivityCompletionClient", "RetryPolicy", "SWFClient", "Worker",
    "WorkflowClient", "WorkflowDefinition", "WorkflowHandle", "WorkflowWorker", "__version__", "activities",
    "activity_options", "connect", "execute", "query", "signal", "workflow_options", "workflow_starter",
]
WORKFLOW = [
    "Awaited", "DEFAULT_VERSION", "Future", "GreenletStack", "RetryPolicy", "STACK_TRACE_QUERY", "StackTrace",
    "WorkflowDefinition", "WorkflowInfo", "WorkflowType", "activity_options", "allow_unsafe_calls", "continue_as_new",
    "current_workflow_options", "execute", "info", "is_replaying", "logger", "now", "query", "random",
    "request_cancel_external", "retry", "shield", "side_effect", "signal", "signal_external", "sleep", "spawn",
    "start_timer", "uuid4", "version", "wait_all", "wait_any", "wait_until", "workflow", "workflow_options",
    "workflow_type_of", "workflow_types",
]
ACTIVITY = [
    "ActivityContext", "ActivityType", "ActivityWorker", "ManualActivityCompletionClient", "activities", "activity",
    "activity_types", "context", "heartbeat",
]
WORKER = [
    "ActivityWorker", "Decider", "DecisionResult", "ReplayResult", "Replayer", "Worker", "WorkerShutdownError",
    "WorkflowWorker",
]
CLIENT = ["ALL_COMPLETED", "CLOSE_EVENTS", "FIRST_COMPLETED", "WorkflowClient", "WorkflowHandle", "as_completed",
          "wait", "workflow_starter"]
SWF = [
    "CallRetryPolicy", "NO_RETRY", "RetryPolicy", "SWFClient", "as_client", "client_config", "connect",
    "PATCH_LINES", "default_db_path", "embedded_service", "is_patched", "is_retryable", "map_client_error",
    "patch_gevent", "require_patched", "waiting_pollers",
]
LOCAL = ["AWSEmulation", "DatabaseInUseError", "LocalService", "Owner", "SystemClock", "VirtualClock", "current_owner"]
TESTING = [
    "ActivityEnvironment", "LocalTestEnvironment", "Replayer", "TimeSkipper", "next_deadline", "stop_all",
    "wait_until",
]
CONVERTER = [
    "DEFAULT_CONVERTER", "DataConverter", "JSONConverter", "MAX_PAYLOAD", "MAX_REASON", "PickleConverter",
    "RemoteException", "check_size", "exception_from_failure", "exception_type_names", "failure_from_exception",
    "known_exceptions", "register", "register_pending", "register_signature",
]
CLI = ["COMMAND_GROUPS", "build_parser", "main"]
INTERCEPTORS = ["ActivityCall", "Interceptor", "SWFCall", "WorkflowTaskCall", "WorkflowTaskOutcome", "intercept",
                "install", "uninstall", "installed", "active", "notify"]
METRICS = ["MetricsInterceptor", "current_metrics", "disable_metrics", "enable_metrics", "metrics_address"]
LOCAL_METRICS = ["ServiceMetrics", "serve_service_metrics"]
CONSOLE = ["AuthConfigError", "Console", "check_binding", "parse_auth"]

PINNED = [
    ("greenflow", TOP), ("greenflow.workflow", WORKFLOW), ("greenflow.activity", ACTIVITY),
    ("greenflow.worker", WORKER), ("greenflow.client", CLIENT), ("greenflow.swf", SWF), ("greenflow.local", LOCAL),
    ("greenflow.testing", TESTING), ("greenflow.converter", CONVERTER), ("greenflow.cli", CLI),
    ("greenflow.interceptors", INTERCEPTORS), ("greenflow.console", CONSOLE), ("greenflow.metrics", METRICS),
    ("greenflow.local.metrics", LOCAL_METRICS),
]
#: Packages whose namespace holds nothing but their exports (and subpackages).
PACKAGES = {"greenflow.workflow", "greenflow.activity", "greenflow.worker", "greenflow.swf"}


@pytest.mark.parametrize("module, names", PINNED, ids=[module for module, _ in PINNED])
def test_public_names_are_pinned(module, names):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(names)
    for name in names:
        assert getattr(mod, name) is not None, name
    if module in PACKAGES:
        public = {n for n in dir(mod) if not n.startswith("_")}
        assert public - set(names) <= {"annotations", "importlib"}, public - set(names)


@pytest.mark.parametrize("module, names", PINNED, ids=[module for module, _ in PINNED])
def test_every_public_name_has_a_docstring(module, names):
    mod = importlib.import_module(module)
    for name in names:
        obj = getattr(mod, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert (obj.__doc__ or "").strip(), f"{module}.{name} has no docstring"


def test_errors_exports_every_exception_it_defines():
    import greenflow.errors as errors

    defined = {name for name, value in vars(errors).items()
               if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == errors.__name__}
    assert set(errors.__all__) == defined | {"DECISION_TASK_ERRORS", "SWF_FAULTS"}
    assert {"GreenflowError", "SWFError", "CancelledError", "WorkflowFailedError"} <= defined
    for name in defined:
        assert (getattr(errors, name).__doc__ or "").strip(), f"greenflow.errors.{name} has no docstring"


def test_public_objects_show_the_public_module():
    import greenflow.activity as activity
    import greenflow.workflow as workflow

    for name in ("Future", "WorkflowDefinition", "sleep", "RetryPolicy"):
        assert getattr(workflow, name).__module__ == "greenflow.workflow", name
    for name in ("ActivityType", "activities", "activity"):
        assert getattr(activity, name).__module__ == "greenflow.activity", name


def test_the_same_object_under_each_of_its_names():
    import greenflow
    import greenflow.activity
    import greenflow.swf
    import greenflow.testing
    import greenflow.worker
    import greenflow.workflow_worker

    assert greenflow.worker.ActivityWorker is greenflow.activity.ActivityWorker is greenflow.ActivityWorker
    assert greenflow.worker.WorkflowWorker is greenflow.workflow_worker.WorkflowWorker is greenflow.WorkflowWorker
    assert greenflow.testing.Replayer is greenflow.worker.Replayer
    # Two different retry policies, two names: SWF calls vs activities from workflow code.
    assert greenflow.swf.CallRetryPolicy is greenflow.swf.RetryPolicy  # the old name, kept
    assert greenflow.RetryPolicy is greenflow.workflow.RetryPolicy is not greenflow.swf.CallRetryPolicy


def test_machinery_is_not_in_the_workflow_api():
    import greenflow.worker as worker
    import greenflow.workflow as workflow

    for name in ("Decider", "Replayer", "DecisionResult", "ReplayResult"):
        assert name not in workflow.__all__ and name not in dir(workflow), name
        # still reachable under the old name, so code written before the move keeps working
        assert getattr(workflow, name) is getattr(worker, name)


@pytest.mark.parametrize("module", ["greenflow", "greenflow.workflow", "greenflow.activity", "greenflow.worker",
                                    "greenflow.swf", "greenflow.cli"])
def test_importing_loads_neither_botocore_nor_the_workers(module):
    # An application may monkey-patch gevent after importing these.
    code = (f"import sys, {module}; "
            "print(sorted(m for m in ('botocore', 'greenflow.worker._activity', 'greenflow.worker._workflow') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
