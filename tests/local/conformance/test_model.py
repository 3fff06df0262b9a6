"""Model completeness: the service answers every operation of botocore's SWF model, and the
model's 54 event types each have their ``<lowerCamelEventType>EventAttributes`` member."""

from __future__ import annotations

import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

MODEL = botocore.session.get_session().get_service_model("swf")
EVENT_TYPES = MODEL.shape_for("EventType").enum
DECISION_TYPES = MODEL.shape_for("DecisionType").enum


def _lower_camel(name: str) -> str:
    return name[0].lower() + name[1:]


def test_model_has_39_operations_54_event_types_13_decisions():
    assert len(MODEL.operation_names) == 39
    assert len(EVENT_TYPES) == 54
    assert len(DECISION_TYPES) == 13


@pytest.mark.parametrize("operation", sorted(MODEL.operation_names))
def test_every_model_operation_is_answered(raw_client, operation):
    """An empty request to each operation gets a modeled answer: never UnknownOperation, never 5xx.

    Every operation has required members, so ``{}`` must be refused with a 400 fault
    (normally ValidationException), which proves the operation is routed.
    """
    try:
        response = getattr(raw_client, xform_name(operation))()
    except ClientError as error:
        code = error.response["Error"]["Code"]
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        assert code != "UnknownOperationException", f"{operation} is not implemented"
        assert 400 <= status < 500, f"{operation}: HTTP {status} {code}"
        assert code == "ValidationException", f"{operation}: {{}} answered {code}"
    else:  # pragma: no cover - every operation has a required member
        pytest.fail(f"{operation} accepted an empty request: {response}")


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_history_event_shape_has_attributes_member_per_event_type(event_type):
    members = MODEL.shape_for("HistoryEvent").members
    key = f"{_lower_camel(event_type)}EventAttributes"
    assert key in members, key
    assert members[key].name == f"{event_type}EventAttributes"


@pytest.mark.parametrize("decision_type", DECISION_TYPES)
def test_decision_shape_has_attributes_member_per_decision_type(decision_type):
    assert f"{_lower_camel(decision_type)}DecisionAttributes" in MODEL.shape_for("Decision").members


def test_service_event_types_cover_the_model():
    """The service's catalogue of event types (``greenflow.local.wire._model``) is the model's 54,
    each with the ``<lowerCamelEventType>EventAttributes`` member of the HistoryEvent shape,
    and the engine names the attributes of the events it writes by the same rule."""
    from greenflow.local.engine import _unit
    from greenflow.local.wire import _model

    members = MODEL.shape_for("HistoryEvent").members
    assert set(_model.event_types()) == set(EVENT_TYPES)
    assert len(_model.event_types()) == 54
    for event_type in EVENT_TYPES:
        expected = f"{_lower_camel(event_type)}EventAttributes"
        assert _model.event_attributes_member(event_type) == expected
        assert expected in members
        assert _unit.attributes_key(event_type) == expected


def test_refusals_in_a_deprecated_domain_use_modeled_faults(swf, client):
    """A deprecated domain refuses new types and executions, with faults the model lists
    for those operations (conftest.check_response rejects any other code)."""
    client.deprecate_domain(name=swf.domain)
    for call in (lambda: swf.register_workflow_type("Later"),
                 lambda: swf.register_activity_type("Later"),
                 lambda: swf.start()):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
