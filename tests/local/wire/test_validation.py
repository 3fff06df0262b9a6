"""Request validation against botocore's SWF model, and the facts derived from that model.

Generic tests walk every operation's input shape; specific tests pin each kind of
constraint (types, lengths, ranges, enums, SWF's name/duration/priority rules) and the
AWS-style message that names the offending field.
"""

from __future__ import annotations

import datetime

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from greenflow.local import LocalService
from greenflow.local.wire import _model
from greenflow.local.wire._faults import Fault
from greenflow.local.wire._validation import (
    CHILD_WORKFLOW_ID,
    DURATION,
    DURATION_NO_NONE,
    EXECUTION_DURATION,
    NAME,
    PRIORITY,
    RETENTION,
    TRIMMED,
    RequestValidator,
    default_validator,
    member_rules,
    validate,
)

from ..rawhttp import post

MODEL = _model.service_model()


# --------------------------------------------------------------------------- the model


def test_model_has_swf_operations():
    names = _model.operation_names()
    assert len(names) == 39
    assert "PollForDecisionTask" in names and "TagResource" in names
    assert list(names) == sorted(names)


def test_operation_shapes_and_faults():
    assert _model.input_shape("DescribeDomain").required_members == ["name"]
    assert "domainInfo" in _model.output_shape("DescribeDomain").members
    assert _model.operation_faults("StartWorkflowExecution") >= {
        "UnknownResourceFault", "TypeDeprecatedFault", "WorkflowExecutionAlreadyStartedFault",
        "LimitExceededFault", "OperationNotPermittedFault", "DefaultUndefinedFault"}
    assert "UnknownResourceFault" not in _model.operation_faults("RegisterDomain")
    assert len(_model.all_faults()) == 11
    with pytest.raises(KeyError):
        _model.operation_model("LaunchRocket")


def test_enum_values():
    assert _model.enum_values("ChildPolicy") == ("TERMINATE", "REQUEST_CANCEL", "ABANDON")
    with pytest.raises(ValueError):
        _model.enum_values("DomainName")


def test_every_event_type_has_its_attributes_member():
    history_event = MODEL.shape_for("HistoryEvent").members
    assert len(_model.event_types()) == 54
    for event_type in _model.event_types():
        member = _model.event_attributes_member(event_type)
        assert member == event_type[0].lower() + event_type[1:] + "EventAttributes"
        assert member in history_event
        assert _model.event_attributes_shape(event_type).type_name == "structure"
    # Every attributes member of HistoryEvent belongs to exactly one event type.
    attribute_members = {name for name in history_event if name.endswith("EventAttributes")}
    assert attribute_members == {_model.event_attributes_member(t) for t in _model.event_types()}
    assert _model.event_attributes_member("TimerFired") == "timerFiredEventAttributes"


def test_every_decision_type_has_its_attributes_member():
    decision = MODEL.shape_for("Decision").members
    assert len(_model.decision_types()) == 13
    for decision_type in _model.decision_types():
        assert _model.decision_attributes_member(decision_type) in decision
    assert _model.decision_attributes_member("StartTimer") == "startTimerDecisionAttributes"
    assert _model.decision_attributes_shape("StartTimer").required_members == ["timerId", "startToFireTimeout"]
    with pytest.raises(KeyError):
        _model.decision_attributes_member("LaunchRocket")


def test_paginators():
    assert set(_model.paginators()) == {
        "GetWorkflowExecutionHistory", "PollForDecisionTask", "ListDomains", "ListWorkflowTypes",
        "ListActivityTypes", "ListOpenWorkflowExecutions", "ListClosedWorkflowExecutions"}
    assert _model.paginators()["ListDomains"]["limit_key"] == "maximumPageSize"


# --------------------------------------------------------------------------- rules derived from docs


def _rules(structure: str, member: str) -> frozenset[str]:
    return member_rules(member, MODEL.shape_for(structure).members[member], structure)


@pytest.mark.parametrize("structure, member, expected", [
    ("RegisterDomainInput", "name", {NAME, TRIMMED}),
    ("RegisterWorkflowTypeInput", "name", {NAME}),
    ("RegisterActivityTypeInput", "version", {NAME}),
    ("StartWorkflowExecutionInput", "domain", {NAME}),
    ("StartWorkflowExecutionInput", "workflowId", {NAME}),
    ("StartWorkflowExecutionInput", "taskList", {NAME}),
    ("PollForActivityTaskInput", "taskList", {NAME, TRIMMED}),
    ("ScheduleActivityTaskDecisionAttributes", "activityId", {NAME}),
    ("StartTimerDecisionAttributes", "timerId", {NAME}),
    # Looser than documented: Amazon SWF accepts AWS Flow's "<runId>:<n>" child ids.
    ("StartChildWorkflowExecutionDecisionAttributes", "workflowId", {CHILD_WORKFLOW_ID}),
    ("StartTimerDecisionAttributes", "startToFireTimeout", {DURATION_NO_NONE}),
    ("StartWorkflowExecutionInput", "executionStartToCloseTimeout", {DURATION_NO_NONE, EXECUTION_DURATION}),
    ("RegisterWorkflowTypeInput", "defaultExecutionStartToCloseTimeout", {DURATION_NO_NONE, EXECUTION_DURATION}),
    ("StartWorkflowExecutionInput", "taskStartToCloseTimeout", {DURATION}),
    ("ScheduleActivityTaskDecisionAttributes", "heartbeatTimeout", {DURATION}),
    ("RegisterDomainInput", "workflowExecutionRetentionPeriodInDays", {RETENTION}),
    ("StartWorkflowExecutionInput", "taskPriority", {PRIORITY}),
    ("DescribeDomainInput", "name", set()),
    ("StartWorkflowExecutionInput", "input", set()),
])
def test_member_rules_from_the_model_docs(structure, member, expected):
    assert _rules(structure, member) == expected


# --------------------------------------------------------------------------- generic: every operation


def minimal_value(shape, rules=frozenset()):
    """A valid value for a shape: required members only, shortest allowed strings."""
    kind = shape.type_name
    if kind == "structure":
        value = {}
        for name in shape.required_members:
            member = shape.members[name]
            value[name] = minimal_value(member, member_rules(name, member))
        return value
    if kind == "list":
        return [minimal_value(shape.member, rules) for _ in range(shape.metadata.get("min", 0))]
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        if rules & {DURATION, DURATION_NO_NONE, RETENTION}:
            return "1"
        if PRIORITY in rules:
            return "0"
        return "a" * max(1, shape.metadata.get("min", 1))
    if kind in ("integer", "long"):
        return shape.metadata.get("min", 0)
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return 0
    raise AssertionError(f"no minimal value for {kind}")


OPERATIONS = _model.operation_names()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_minimal_request_of_every_operation_is_valid(operation):
    params = minimal_value(_model.input_shape(operation))
    assert validate(operation, params) is params


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_required_member_of_every_operation_is_checked(operation):
    shape = _model.input_shape(operation)
    assert shape.required_members, f"{operation} has no required member"
    for name in shape.required_members:
        params = minimal_value(shape)
        del params[name]
        with pytest.raises(Fault) as caught:
            validate(operation, params)
        fault = caught.value
        assert fault.code == "ValidationException"
        assert fault.namespace == "com.amazon.coral.validate"
        assert fault.message == (f"1 validation error detected: Value null at '{name}' failed to satisfy "
                                 "constraint: Member must not be null")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_refuses_a_non_object(operation):
    with pytest.raises(Fault, match="must be a structure"):
        validate(operation, ["not", "an", "object"])


@pytest.mark.parametrize("operation", OPERATIONS)
def test_nested_required_members_are_checked(operation):
    shape = _model.input_shape(operation)
    nested = [(name, shape.members[name]) for name in shape.required_members
              if shape.members[name].type_name == "structure" and shape.members[name].required_members]
    for name, member in nested:
        params = minimal_value(shape)
        inner = member.required_members[0]
        del params[name][inner]
        with pytest.raises(Fault, match=f"at '{name}.{inner}' failed to satisfy constraint: Member must not be null"):
            validate(operation, params)


# --------------------------------------------------------------------------- every kind of constraint


def start(**params):
    request = {"domain": "d", "workflowId": "w", "workflowType": {"name": "W", "version": "1"}}
    request.update(params)
    return request


def problems(operation, params) -> list[str]:
    return default_validator().errors(operation, params)


def only_problem(operation, params) -> str:
    found = problems(operation, params)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("value", [5, 1.5, True, ["w"], {"a": 1}])
def test_string_type(value):
    assert only_problem("StartWorkflowExecution", start(workflowId=value)).endswith("Member must be a string")


@pytest.mark.parametrize("value", ["10", True, False, 1.5, [1]])
def test_integer_type_rejects_strings_bools_and_fractions(value):
    problem = only_problem("ListDomains", {"registrationStatus": "REGISTERED", "maximumPageSize": value})
    assert "at 'maximumPageSize'" in problem and problem.endswith("Member must be an integer")


def test_integral_float_is_an_integer():
    params = {"registrationStatus": "REGISTERED", "maximumPageSize": 10.0}
    assert problems("ListDomains", params) == []


@pytest.mark.parametrize("value, ok", [(0, True), (1000, True), (-1, False), (1001, False)])
def test_integer_range(value, ok):
    found = problems("ListDomains", {"registrationStatus": "REGISTERED", "maximumPageSize": value})
    assert (found == []) == ok
    if value == 1001:
        assert found[0].endswith("Member must have value less than or equal to 1000")
    if value == -1:
        assert found[0].endswith("Member must have value greater than or equal to 0")


@pytest.mark.parametrize("value", ["true", 1, 0, "yes"])
def test_boolean_type(value):
    problem = only_problem("ListDomains", {"registrationStatus": "REGISTERED", "reverseOrder": value})
    assert problem.endswith("Member must be a boolean")


def test_list_type_and_length():
    assert only_problem("StartWorkflowExecution", start(tagList="a")).endswith("Member must be a list")
    assert only_problem("StartWorkflowExecution", start(tagList=list("abcdef"))).endswith(
        "Member must have length less than or equal to 5")
    assert problems("StartWorkflowExecution", start(tagList=list("abcde"))) == []


def test_list_items_are_checked_with_aws_paths():
    problem = only_problem("StartWorkflowExecution", start(tagList=["ok", "t" * 257]))
    assert "at 'tagList.2.member' failed" in problem
    assert only_problem("StartWorkflowExecution", start(tagList=["ok", None])).startswith(
        "Value null at 'tagList.2.member'")


def test_structure_type():
    problem = only_problem("StartWorkflowExecution", start(workflowType="W"))
    assert "at 'workflowType'" in problem and problem.endswith("Member must be a structure (JSON object)")


@pytest.mark.parametrize("value, expected", [
    (1767225600, 1767225600.0),
    (1767225600.25, 1767225600.25),
    ("1767225600", 1767225600.0),
    ("2026-01-01T00:00:00Z", 1767225600.0),
    ("2026-01-01T01:00:00+01:00", 1767225600.0),
    ("2026-01-01T00:00:00", 1767225600.0),
])
def test_timestamps_become_epoch_floats(value, expected):
    params = {"domain": "d", "startTimeFilter": {"oldestDate": value}}
    validate("CountOpenWorkflowExecutions", params)
    assert params["startTimeFilter"]["oldestDate"] == expected
    assert type(params["startTimeFilter"]["oldestDate"]) is float


@pytest.mark.parametrize("value", ["yesterday", True, [1], {"a": 1}])
def test_bad_timestamps(value):
    problem = only_problem("CountOpenWorkflowExecutions", {"domain": "d", "startTimeFilter": {"oldestDate": value}})
    assert "at 'startTimeFilter.oldestDate'" in problem and "timestamp" in problem


def test_string_lengths():
    assert only_problem("StartWorkflowExecution", start(workflowId="w" * 257)).endswith(
        "Member must have length less than or equal to 256")
    assert only_problem("StartWorkflowExecution", start(workflowId="")).endswith(
        "Member must have length greater than or equal to 1")
    assert problems("StartWorkflowExecution", start(workflowId="w" * 256)) == []
    assert problems("StartWorkflowExecution", start(input="x" * 32_768)) == []
    assert "at 'input'" in only_problem("StartWorkflowExecution", start(input="x" * 32_769))


def test_lengths_count_characters_not_bytes():
    assert problems("StartWorkflowExecution", start(workflowId="é" * 256)) == []


def test_enum():
    problem = only_problem("StartWorkflowExecution", start(childPolicy="KILL"))
    assert problem == ("Value 'KILL' at 'childPolicy' failed to satisfy constraint: Member must satisfy enum "
                       "value set: [TERMINATE, REQUEST_CANCEL, ABANDON]")


@pytest.mark.parametrize("name", ["a:b", "a/b", "a|b", "tab\there", "nul\u0000", "us\u001f", "del\u007f",
                                  "c1\u0080", "c1\u009f", "arn"])
def test_name_rule(name):
    problem = only_problem("StartWorkflowExecution", start(workflowId=name))
    assert "at 'workflowId'" in problem


@pytest.mark.parametrize("name", ["arn:x", "ARN", "arnold", "a b", "ünïcode", "a\u00a0b", "x.y-z_1"])
def test_names_the_rule_allows(name):
    found = [p for p in problems("StartWorkflowExecution", start(workflowId=name)) if "workflowId" in p]
    if ":" in name:
        assert found  # ':' is forbidden even when the name is not exactly "arn"
    else:
        assert found == []


def test_name_rule_applies_to_task_list_names_and_decisions():
    assert "at 'taskList.name'" in only_problem("StartWorkflowExecution", start(taskList={"name": "a/b"}))
    assert "at 'taskList.name'" in only_problem("PollForActivityTask", {"domain": "d", "taskList": {"name": "arn"}})
    decision = {"decisionType": "StartTimer",
                "startTimerDecisionAttributes": {"timerId": "t|1", "startToFireTimeout": "5"}}
    problem = only_problem("RespondDecisionTaskCompleted", {"taskToken": "t", "decisions": [decision]})
    assert "at 'decisions.1.member.startTimerDecisionAttributes.timerId'" in problem


def test_name_rule_only_where_the_model_states_it():
    # DescribeDomain's name carries no rule in the model: an odd name is simply unknown.
    assert problems("DescribeDomain", {"name": "a:b"}) == []
    assert problems("RecordActivityTaskHeartbeat", {"taskToken": "a:b|c"}) == []


@pytest.mark.parametrize("name", [" lead", "trail ", "\u3000wide"])
def test_whitespace_rule(name):
    assert "whitespace" in only_problem("RegisterDomain", {"name": name, "workflowExecutionRetentionPeriodInDays": "1"})
    # StartWorkflowExecution's workflowId has no whitespace rule.
    assert problems("StartWorkflowExecution", start(workflowId=name)) == []


@pytest.mark.parametrize("value, ok", [("0", True), ("30", True), ("NONE", True), ("-1", False), ("ten", False),
                                       ("1.5", False), ("", False), (" 5", False), ("99999999", True)])
def test_durations(value, ok):
    assert (problems("StartWorkflowExecution", start(taskStartToCloseTimeout=value)) == []) == ok


@pytest.mark.parametrize("value, ok", [("1", True), ("31536000", True), ("31536001", False), ("NONE", False),
                                       ("0", True)])
def test_execution_start_to_close_timeout(value, ok):
    found = problems("StartWorkflowExecution", start(executionStartToCloseTimeout=value))
    assert (found == []) == ok
    if not ok:
        assert "at 'executionStartToCloseTimeout'" in found[0]


def test_timer_duration_has_no_none():
    decision = {"decisionType": "StartTimer", "startTimerDecisionAttributes": {"timerId": "t", "startToFireTimeout": "NONE"}}
    problem = only_problem("RespondDecisionTaskCompleted", {"taskToken": "t", "decisions": [decision]})
    assert "startToFireTimeout" in problem and "NONE is not allowed" in problem


@pytest.mark.parametrize("value, ok", [("0", True), ("90", True), ("NONE", True), ("91", False), ("-1", False),
                                       ("x", False)])
def test_retention(value, ok):
    found = problems("RegisterDomain", {"name": "d", "workflowExecutionRetentionPeriodInDays": value})
    assert (found == []) == ok


@pytest.mark.parametrize("value, ok", [("0", True), ("-5", True), ("+5", True), ("2147483647", True),
                                       ("-2147483648", True), ("2147483648", False), ("high", False),
                                       ("1.0", False), ("", False)])
def test_task_priority(value, ok):
    assert (problems("StartWorkflowExecution", start(taskPriority=value)) == []) == ok


def test_all_problems_are_reported_at_once():
    with pytest.raises(Fault) as caught:
        validate("StartWorkflowExecution", {"workflowId": "a:b", "workflowType": {"name": "x" * 300, "version": "1"}})
    message = caught.value.message
    assert message.startswith("3 validation errors detected: ")
    assert "Value null at 'domain'" in message
    assert "at 'workflowId'" in message
    assert "at 'workflowType.name' failed to satisfy constraint: Member must have length less than or equal to 256" in message
    assert message.count("; ") == 2


def test_long_values_are_cut_short_in_messages():
    message = only_problem("StartWorkflowExecution", start(input="x" * 40_000))
    assert len(message) < 300


def nested(depth):
    value = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("operation, params", [
    ("DescribeDomain", {"name": nested(330)}),  # ~2 KB of JSON
    ("StartWorkflowExecution", start(workflowType={"name": nested(5000), "version": "1"})),
    ("StartWorkflowExecution", start(tagList=[nested(900)] * 3)),
])
def test_deeply_nested_values_are_a_validation_error(operation, params):
    with pytest.raises(Fault) as caught:
        validate(operation, params)
    assert caught.value.code == "ValidationException"
    assert "{a={a={" in caught.value.message and len(caught.value.message) < 1000


BAD = "a\ud800b"  # a lone UTF-16 surrogate


@pytest.mark.parametrize("operation, params, path", [
    ("RegisterDomain", {"name": BAD, "workflowExecutionRetentionPeriodInDays": "1"}, "name"),
    ("RegisterDomain", {"name": "d", "workflowExecutionRetentionPeriodInDays": "1", "description": "\udfff"},
     "description"),
    ("StartWorkflowExecution", start(input=BAD), "input"),
    ("StartWorkflowExecution", start(tagList=["ok", BAD]), "tagList.2.member"),
    ("StartWorkflowExecution", start(workflowType={"name": BAD, "version": "1"}), "workflowType.name"),
    ("StartWorkflowExecution", start(unknownMember={"deep": [BAD]}), "unknownMember.deep.1.member"),
    ("StartWorkflowExecution", start(unknownMember={BAD: 1}), "unknownMember.key"),
    ("TagResource", {"resourceArn": "arn", "tags": [{"key": "k", "value": BAD}]}, "tags.1.member.value"),
])
def test_lone_surrogates_are_a_validation_error(operation, params, path):
    with pytest.raises(Fault) as caught:
        validate(operation, params)
    assert caught.value.code == "ValidationException"
    assert f"at '{path}' failed to satisfy constraint: Member must be valid Unicode" in caught.value.message


def test_surrogate_pairs_are_valid_unicode():
    validate("StartWorkflowExecution", start(input="smile \U0001F600"))


def test_decision_needs_the_attributes_of_its_type():
    problem = only_problem("RespondDecisionTaskCompleted", {"taskToken": "t", "decisions": [{"decisionType": "StartTimer"}]})
    assert "at 'decisions.1.member.startTimerDecisionAttributes'" in problem
    # Types whose attributes are all optional need none.
    assert problems("RespondDecisionTaskCompleted",
                    {"taskToken": "t", "decisions": [{"decisionType": "CompleteWorkflowExecution"}]}) == []


def test_unknown_decision_type():
    problem = only_problem("RespondDecisionTaskCompleted", {"taskToken": "t", "decisions": [{"decisionType": "Nap"}]})
    assert "at 'decisions.1.member.decisionType'" in problem and "enum" in problem


def test_decision_problems_name_the_decision_index():
    decisions = [
        {"decisionType": "CompleteWorkflowExecution", "completeWorkflowExecutionDecisionAttributes": {"result": "ok"}},
        {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
            "activityType": {"name": "A", "version": "1"}, "activityId": "a", "heartbeatTimeout": "-1"}},
    ]
    problem = only_problem("RespondDecisionTaskCompleted", {"taskToken": "t", "decisions": decisions})
    assert "at 'decisions.2.member.scheduleActivityTaskDecisionAttributes.heartbeatTimeout'" in problem


def test_unknown_members_are_ignored_and_nulls_dropped():
    params = start(somethingNew={"x": 1}, runId=None, input=None)
    validate("StartWorkflowExecution", params)
    assert "somethingNew" in params
    assert "runId" not in params and "input" not in params


def test_required_member_sent_as_null_is_missing():
    assert only_problem("DescribeDomain", {"name": None}).startswith("Value null at 'name'")


def test_validator_for_some_operations_only():
    validator = RequestValidator(("DescribeDomain",))
    validator.validate("DescribeDomain", {"name": "d"})
    with pytest.raises(KeyError):
        validator.validate("ListDomains", {})


# --------------------------------------------------------------------------- over HTTP


class RecordingCore:
    def __init__(self):
        self.requests = []

    def handle(self, operation, params):
        self.requests.append((operation, params))
        return {}


@pytest.fixture
def recording():
    core = RecordingCore()
    with LocalService(core_factory=lambda: core) as service:
        yield service, core


def _client(endpoint, validate=True):
    return botocore.session.get_session().create_client(
        "swf", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="a", aws_secret_access_key="b",
        config=Config(read_timeout=70, retries={"max_attempts": 0}, parameter_validation=validate))


def test_what_botocore_lets_through_is_refused_by_the_service(recording):
    service, core = recording
    client = _client(service.endpoint)
    # botocore checks neither maximum lengths nor enums.
    with pytest.raises(ClientError) as caught:
        client.start_workflow_execution(domain="d", workflowId="w" * 300, workflowType={"name": "W", "version": "1"},
                                        childPolicy="KILL")
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("2 validation errors detected")
    assert "'workflowId'" in error["Message"] and "'childPolicy'" in error["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert core.requests == []


def test_missing_member_over_http(recording):
    service, core = recording
    client = _client(service.endpoint, validate=False)
    with pytest.raises(ClientError) as caught:
        client.start_workflow_execution(domain="d", workflowType={"name": "W", "version": "1"})
    assert "Value null at 'workflowId'" in caught.value.response["Error"]["Message"]
    assert core.requests == []


def test_valid_request_reaches_the_core_normalised(recording):
    service, core = recording
    _client(service.endpoint).list_closed_workflow_executions(
        domain="d", closeTimeFilter={"oldestDate": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)})
    assert core.requests == [("ListClosedWorkflowExecutions",
                              {"domain": "d", "closeTimeFilter": {"oldestDate": 1767225600.0}})]


def test_lone_surrogate_over_http_is_a_validation_fault_and_stores_nothing():
    body = b'{"name":"sur\\ud800rogate","workflowExecutionRetentionPeriodInDays":"1"}'
    with LocalService() as service:
        status, answer = post(service.port, body, {"X-Amz-Target": "SimpleWorkflowService.RegisterDomain",
                                                   "Content-Type": "application/x-amz-json-1.0"})
        assert status == 400
        assert answer["__type"].endswith("#ValidationException")
        assert "lone UTF-16 surrogate" in answer["message"]
        assert _client(service.endpoint).list_domains(registrationStatus="REGISTERED")["domainInfos"] == []
