"""SWF's service model, loaded once from botocore, and the facts the service derives from it.

botocore ships the authoritative description of SWF (``swf/2012-01-25/service-2.json``):
operations, their input and output shapes, the faults each may raise, and every enum.
The local service derives what it needs from that model instead of restating it, so it
stays in step with the botocore it runs with.

The model is loaded through botocore's own loader (installed models are compressed, and
their location is botocore's business), once per process, on first use.

Example::

    >>> from greenflow.local.wire import _model
    >>> "PollForDecisionTask" in _model.operation_names()
    True
    >>> _model.event_attributes_member("TimerFired")
    'timerFiredEventAttributes'
"""

from __future__ import annotations

import functools

from botocore.model import OperationModel, ServiceModel, Shape

#: The botocore service name of SWF.
SERVICE_NAME = "swf"


@functools.cache
def service_model() -> ServiceModel:
    """botocore's SWF service model (loaded once, then cached)."""
    # Imported here: a botocore session is costly to build and only needed once.
    import botocore.session

    return botocore.session.get_session().get_service_model(SERVICE_NAME)


@functools.cache
def paginators() -> dict[str, dict]:
    """SWF's paginator configurations by operation (``paginators-1.json``), e.g.
    ``{"ListDomains": {"input_token": "nextPageToken", ...}}``."""
    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")
    api_version = service_model().api_version
    return dict(loader.load_service_model(SERVICE_NAME, "paginators-1", api_version)["pagination"])


@functools.cache
def operation_names() -> tuple[str, ...]:
    """The names of SWF's operations (39), sorted: ``("CountClosedWorkflowExecutions", ...)``."""
    return tuple(sorted(service_model().operation_names))


def operation_model(operation: str) -> OperationModel:
    """botocore's model of one operation; ``KeyError`` if SWF has no such operation."""
    if operation not in _operation_set():
        raise KeyError(operation)
    return service_model().operation_model(operation)


@functools.cache
def _operation_set() -> frozenset[str]:
    return frozenset(operation_names())


def input_shape(operation: str) -> Shape | None:
    """The input structure of an operation (``None`` if it takes none)."""
    return operation_model(operation).input_shape


def output_shape(operation: str) -> Shape | None:
    """The output structure of an operation (``None`` if it answers an empty body)."""
    return operation_model(operation).output_shape


@functools.cache
def operation_faults(operation: str) -> frozenset[str]:
    """The fault codes the model lists for an operation, e.g. ``{"UnknownResourceFault", ...}``.

    Faults every AWS JSON service may answer (``ValidationException``, throttling,
    authentication) are not modeled per operation and so are not included.
    """
    return frozenset(shape.name for shape in operation_model(operation).error_shapes)


@functools.cache
def all_faults() -> frozenset[str]:
    """Every fault code modeled for SWF (11)."""
    return frozenset(code for op in operation_names() for code in operation_faults(op))


@functools.cache
def enum_values(shape_name: str) -> tuple[str, ...]:
    """The values of an enum shape, in model order: ``enum_values("ChildPolicy")`` →
    ``("TERMINATE", "REQUEST_CANCEL", "ABANDON")``. ``ValueError`` if it is not an enum."""
    shape = service_model().shape_for(shape_name)
    if not shape.enum:
        raise ValueError(f"SWF shape {shape_name} is not an enum")
    return tuple(shape.enum)


def lower_camel(name: str) -> str:
    """``"WorkflowExecutionStarted"`` → ``"workflowExecutionStarted"`` (SWF's member naming)."""
    return name[:1].lower() + name[1:]


@functools.cache
def event_types() -> tuple[str, ...]:
    """The 54 history event types, in model order."""
    return enum_values("EventType")


@functools.cache
def decision_types() -> tuple[str, ...]:
    """The 13 decision types, in model order."""
    return enum_values("DecisionType")


def event_attributes_member(event_type: str) -> str:
    """The ``HistoryEvent`` member holding an event's attributes:
    ``"ActivityTaskCompleted"`` → ``"activityTaskCompletedEventAttributes"``.

    ``KeyError`` for an event type SWF does not have.
    """
    return _event_members()[event_type]


def decision_attributes_member(decision_type: str) -> str:
    """The ``Decision`` member holding a decision's attributes:
    ``"StartTimer"`` → ``"startTimerDecisionAttributes"``.

    ``KeyError`` for a decision type SWF does not have.
    """
    return _decision_members()[decision_type]


@functools.cache
def _event_members() -> dict[str, str]:
    return _attribute_members("HistoryEvent", event_types(), "EventAttributes")


@functools.cache
def _decision_members() -> dict[str, str]:
    return _attribute_members("Decision", decision_types(), "DecisionAttributes")


def _attribute_members(container: str, kinds: tuple[str, ...], suffix: str) -> dict[str, str]:
    # Derive each name by SWF's rule, then check it against the model, so a botocore model
    # that broke the rule fails loudly here rather than silently dropping attributes.
    members = service_model().shape_for(container).members
    names = {kind: lower_camel(kind) + suffix for kind in kinds}
    missing = sorted(name for name in names.values() if name not in members)
    if missing:
        raise RuntimeError(f"botocore's SWF model has no {container} members {missing}")
    return names


def event_attributes_shape(event_type: str) -> Shape:
    """The attributes structure of one history event type."""
    return service_model().shape_for("HistoryEvent").members[event_attributes_member(event_type)]


def decision_attributes_shape(decision_type: str) -> Shape:
    """The attributes structure of one decision type."""
    return service_model().shape_for("Decision").members[decision_attributes_member(decision_type)]
