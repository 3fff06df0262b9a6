"""Registry, tags and visibility end to end: a real botocore ``swf`` client over HTTP.

One test (at least) per operation of the registry (domains, types, tags) and of
visibility, against a :class:`greenflow.local.LocalService` on a virtual clock. Visibility
tests start real executions with StartWorkflowExecution and close some with
TerminateWorkflowExecution.
"""

from __future__ import annotations

import datetime
import uuid

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from greenflow.local import LocalService
from greenflow.local._clock import VirtualClock

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
ACCOUNT_ARN = "arn:aws:swf:us-east-1:"
_SESSION = botocore.session.get_session()


def at(epoch_seconds: float) -> datetime.datetime:
    """An epoch time as botocore parses timestamps (aware datetimes)."""
    return datetime.datetime.fromtimestamp(epoch_seconds, datetime.timezone.utc)


@pytest.fixture(scope="module")
def clock():
    """The service's virtual clock (shared by the module; tests only move it forward)."""
    return VirtualClock(start=START)


@pytest.fixture(scope="module")
def service(clock):
    service = LocalService(db_path=":memory:", clock=clock, poll_timeout=0.2)
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def client(service):
    return _SESSION.create_client(
        "swf", region_name="us-east-1", endpoint_url=service.endpoint,
        aws_access_key_id="dummy", aws_secret_access_key="dummy",
        config=Config(retries={"max_attempts": 0}, read_timeout=70))


@pytest.fixture
def name():
    """A fresh unique name factory (the service is shared by the module's tests)."""
    uid = uuid.uuid4().hex[:10]
    return lambda prefix="d": f"{prefix}-{uid}"


@pytest.fixture
def domain(client, name):
    """A freshly registered domain's name."""
    domain = name("dom")
    client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1", description="test")
    return domain


def code(error: pytest.ExceptionInfo) -> str:
    return error.value.response["Error"]["Code"]


def fails(code_expected: str, call, **params) -> str:
    """Call and expect a ClientError with this code; returns the message."""
    with pytest.raises(ClientError) as error:
        call(**params)
    assert code(error) == code_expected, error.value.response["Error"]
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error.value.response["Error"]["Message"]


# --------------------------------------------------------------------------- domains


def test_register_domain_and_describe(client, name):
    domain = name()
    client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="30", description="mine")
    described = client.describe_domain(name=domain)
    assert described["domainInfo"]["name"] == domain
    assert described["domainInfo"]["status"] == "REGISTERED"
    assert described["domainInfo"]["description"] == "mine"
    assert described["domainInfo"]["arn"].startswith(ACCOUNT_ARN)
    assert described["domainInfo"]["arn"].endswith(f":/domain/{domain}")
    assert described["configuration"] == {"workflowExecutionRetentionPeriodInDays": "30"}
    fails("DomainAlreadyExistsFault", client.register_domain, name=domain,
          workflowExecutionRetentionPeriodInDays="1")


@pytest.mark.parametrize("retention", ["91", "x", "-1"])
def test_register_domain_bad_retention(client, name, retention):
    fails("ValidationException", client.register_domain, name=name(), workflowExecutionRetentionPeriodInDays=retention)


def test_register_domain_bad_name(client):
    fails("ValidationException", client.register_domain, name="a:b", workflowExecutionRetentionPeriodInDays="1")


def test_describe_unknown_domain(client, name):
    message = fails("UnknownResourceFault", client.describe_domain, name=name("missing"))
    assert name("missing") in message


def test_deprecate_domain(client, domain):
    client.register_workflow_type(domain=domain, name="w", version="1")
    client.deprecate_domain(name=domain)
    assert client.describe_domain(name=domain)["domainInfo"]["status"] == "DEPRECATED"
    info = client.describe_workflow_type(domain=domain, workflowType={"name": "w", "version": "1"})["typeInfo"]
    assert info["status"] == "DEPRECATED"
    assert isinstance(info["deprecationDate"], datetime.datetime)
    fails("DomainDeprecatedFault", client.deprecate_domain, name=domain)
    fails("OperationNotPermittedFault", client.register_activity_type, domain=domain, name="a", version="1")


def test_undeprecate_domain(client, domain):
    fails("DomainAlreadyExistsFault", client.undeprecate_domain, name=domain)
    client.deprecate_domain(name=domain)
    client.undeprecate_domain(name=domain)
    assert client.describe_domain(name=domain)["domainInfo"]["status"] == "REGISTERED"
    fails("UnknownResourceFault", client.undeprecate_domain, name=domain + "-missing")


def test_list_domains(client, name):
    mine = sorted(name(f"list{i}") for i in range(3))
    for domain in mine:
        client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
    client.deprecate_domain(name=mine[1])
    registered = [d["name"] for d in client.list_domains(registrationStatus="REGISTERED")["domainInfos"]]
    assert mine[0] in registered and mine[2] in registered and mine[1] not in registered
    assert registered == sorted(registered)
    reverse = [d["name"] for d in client.list_domains(registrationStatus="REGISTERED", reverseOrder=True)["domainInfos"]]
    assert reverse == registered[::-1]
    deprecated = client.list_domains(registrationStatus="DEPRECATED")["domainInfos"]
    assert {"name": mine[1], "status": "DEPRECATED"}.items() <= next(d for d in deprecated if d["name"] == mine[1]).items()


def test_list_domains_paginator_walks_pages(client, name):
    for i in range(7):
        client.register_domain(name=name(f"page{i}"), workflowExecutionRetentionPeriodInDays="1")
    everything = [d["name"] for d in client.list_domains(registrationStatus="REGISTERED")["domainInfos"]]
    assert len(everything) >= 7
    paginator = client.get_paginator("list_domains")
    pages = list(paginator.paginate(registrationStatus="REGISTERED", PaginationConfig={"PageSize": 2}))
    assert len(pages) == (len(everything) + 1) // 2
    assert all(len(page["domainInfos"]) <= 2 for page in pages)
    assert [d["name"] for page in pages for d in page["domainInfos"]] == everything
    # aws CLI style: --max-items then --starting-token resumes where it stopped.
    first = paginator.paginate(registrationStatus="REGISTERED",
                               PaginationConfig={"PageSize": 2, "MaxItems": 3}).build_full_result()
    assert [d["name"] for d in first["domainInfos"]] == everything[:3]
    rest = paginator.paginate(registrationStatus="REGISTERED",
                              PaginationConfig={"PageSize": 2, "StartingToken": first["NextToken"]}).build_full_result()
    assert [d["name"] for d in rest["domainInfos"]] == everything[3:]


def test_list_domains_rejects_forged_token(client):
    fails("ValidationException", client.list_domains, registrationStatus="REGISTERED", nextPageToken="forged.token")


# --------------------------------------------------------------------------- types


WORKFLOW_DEFAULTS = {
    "defaultTaskStartToCloseTimeout": "30", "defaultExecutionStartToCloseTimeout": "3600",
    "defaultTaskList": {"name": "deciders"}, "defaultTaskPriority": "2", "defaultChildPolicy": "ABANDON",
}
ACTIVITY_DEFAULTS = {
    "defaultTaskStartToCloseTimeout": "60", "defaultTaskHeartbeatTimeout": "NONE",
    "defaultTaskList": {"name": "workers"}, "defaultTaskPriority": "-1",
    "defaultTaskScheduleToStartTimeout": "10", "defaultTaskScheduleToCloseTimeout": "70",
}

KINDS = {
    "workflow": ("workflowType", WORKFLOW_DEFAULTS),
    "activity": ("activityType", ACTIVITY_DEFAULTS),
}


def op(client, verb: str, kind: str):
    return getattr(client, f"{verb}_{kind}_type")


@pytest.mark.parametrize("kind", KINDS)
def test_register_and_describe_type(client, clock, domain, kind):
    member, defaults = KINDS[kind]
    op(client, "register", kind)(domain=domain, name="t", version="1", description="a type", **defaults)
    described = op(client, "describe", kind)(domain=domain, **{member: {"name": "t", "version": "1"}})
    assert described["configuration"] == defaults
    info = described["typeInfo"]
    assert info[member] == {"name": "t", "version": "1"}
    assert info["status"] == "REGISTERED"
    assert info["description"] == "a type"
    assert info["creationDate"] == at(clock.now())
    assert "deprecationDate" not in info
    fails("TypeAlreadyExistsFault", op(client, "register", kind), domain=domain, name="t", version="1")
    fails("UnknownResourceFault", op(client, "register", kind), domain=domain + "-missing", name="t", version="1")


@pytest.mark.parametrize("kind", KINDS)
def test_deprecate_type(client, domain, kind):
    member, _ = KINDS[kind]
    ident = {member: {"name": "t", "version": "1"}}
    op(client, "register", kind)(domain=domain, name="t", version="1")
    op(client, "deprecate", kind)(domain=domain, **ident)
    assert op(client, "describe", kind)(domain=domain, **ident)["typeInfo"]["status"] == "DEPRECATED"
    fails("TypeDeprecatedFault", op(client, "deprecate", kind), domain=domain, **ident)


@pytest.mark.parametrize("kind", KINDS)
def test_undeprecate_type(client, domain, kind):
    member, _ = KINDS[kind]
    ident = {member: {"name": "t", "version": "1"}}
    op(client, "register", kind)(domain=domain, name="t", version="1")
    fails("TypeAlreadyExistsFault", op(client, "undeprecate", kind), domain=domain, **ident)
    op(client, "deprecate", kind)(domain=domain, **ident)
    op(client, "undeprecate", kind)(domain=domain, **ident)
    assert op(client, "describe", kind)(domain=domain, **ident)["typeInfo"]["status"] == "REGISTERED"


@pytest.mark.parametrize("kind", KINDS)
def test_delete_type(client, domain, kind):
    member, _ = KINDS[kind]
    ident = {member: {"name": "t", "version": "1"}}
    op(client, "register", kind)(domain=domain, name="t", version="1")
    fails("TypeNotDeprecatedFault", op(client, "delete", kind), domain=domain, **ident)
    op(client, "deprecate", kind)(domain=domain, **ident)
    op(client, "delete", kind)(domain=domain, **ident)
    message = fails("UnknownResourceFault", op(client, "describe", kind), domain=domain, **ident)
    assert "name=t, version=1" in message
    fails("UnknownResourceFault", op(client, "delete", kind), domain=domain, **ident)


@pytest.mark.parametrize("kind", KINDS)
def test_list_types_with_paginator(client, domain, kind):
    member, _ = KINDS[kind]
    expected = [(n, v) for n in ("a", "b") for v in ("1", "2", "3")]
    for n, v in expected:
        op(client, "register", kind)(domain=domain, name=n, version=v)
    op(client, "deprecate", kind)(domain=domain, **{member: {"name": "b", "version": "3"}})
    paginator = client.get_paginator(f"list_{kind}_types")
    pages = list(paginator.paginate(domain=domain, registrationStatus="REGISTERED",
                                    PaginationConfig={"PageSize": 2}))
    got = [(i[member]["name"], i[member]["version"]) for page in pages for i in page["typeInfos"]]
    assert got == expected[:-1]
    assert len(pages) == 3
    listed = getattr(client, f"list_{kind}_types")(domain=domain, registrationStatus="REGISTERED", name="a",
                                           reverseOrder=True)
    assert [i[member]["version"] for i in listed["typeInfos"]] == ["3", "2", "1"]
    deprecated = getattr(client, f"list_{kind}_types")(domain=domain, registrationStatus="DEPRECATED")["typeInfos"]
    assert [(i[member]["name"], i["status"]) for i in deprecated] == [("b", "DEPRECATED")]
    fails("UnknownResourceFault", getattr(client, f"list_{kind}_types"), domain=domain + "-missing",
          registrationStatus="REGISTERED")


# --------------------------------------------------------------------------- tags


def arn_of(client, domain):
    return client.describe_domain(name=domain)["domainInfo"]["arn"]


def test_register_domain_with_tags(client, name):
    domain = name()
    client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1",
                           tags=[{"key": "team", "value": "core"}])
    assert client.list_tags_for_resource(resourceArn=arn_of(client, domain))["tags"] == [
        {"key": "team", "value": "core"}]
    fails("TooManyTagsFault", client.register_domain, name=name("many"), workflowExecutionRetentionPeriodInDays="1",
          tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])


def test_tag_resource(client, domain):
    arn = arn_of(client, domain)
    client.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    client.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "3"}])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "a", "value": "3"}, {"key": "b", "value": "2"}]
    fails("TooManyTagsFault", client.tag_resource, resourceArn=arn,
          tags=[{"key": f"k{i}", "value": ""} for i in range(49)])
    fails("UnknownResourceFault", client.tag_resource, resourceArn=arn + "-missing", tags=[{"key": "a"}])


def test_untag_resource(client, domain):
    arn = arn_of(client, domain)
    client.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    client.untag_resource(resourceArn=arn, tagKeys=["a", "not-there"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}]
    fails("UnknownResourceFault", client.untag_resource, resourceArn=arn + "-missing", tagKeys=["a"])


def test_list_tags_for_resource(client, domain):
    arn = arn_of(client, domain)
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == []
    message = fails("UnknownResourceFault", client.list_tags_for_resource, resourceArn=arn + "-missing")
    assert arn + "-missing" in message


# --------------------------------------------------------------------------- visibility


@pytest.fixture
def world(client, service, clock, domain):
    """A domain with types A/1, A/2, B/1 and five executions, two of them terminated.

    Executions start 10 s apart (virtual time): w0 (A/1, tag red), w1 (A/2, tag blue),
    w2 (B/1, tags red+blue), w3 (A/1), w4 (B/1); w1 and w3 are terminated afterwards,
    w3 first.
    """
    for n, v in (("A", "1"), ("A", "2"), ("B", "1")):
        client.register_workflow_type(domain=domain, name=n, version=v, defaultTaskList={"name": "tl"},
                                      defaultExecutionStartToCloseTimeout="86400",
                                      defaultTaskStartToCloseTimeout="NONE", defaultChildPolicy="TERMINATE")
    specs = [("A", "1", ["red"]), ("A", "2", ["blue"]), ("B", "1", ["red", "blue"]), ("A", "1", []), ("B", "1", [])]
    base = clock.now()
    runs = {}
    for i, (n, v, tags) in enumerate(specs):
        if i:
            service.advance_time(10)
        run = client.start_workflow_execution(domain=domain, workflowId=f"w{i}",
                                              workflowType={"name": n, "version": v}, tagList=tags)["runId"]
        runs[f"w{i}"] = run
    service.advance_time(10)
    client.terminate_workflow_execution(domain=domain, workflowId="w3", reason="test")
    service.advance_time(10)
    client.terminate_workflow_execution(domain=domain, workflowId="w1", reason="test")
    return {"domain": domain, "base": base, "runs": runs}


def epoch(moment: datetime.datetime) -> float:
    return moment.timestamp()


def wids(response):
    return [i["execution"]["workflowId"] for i in response["executionInfos"]]


def test_list_open_workflow_executions(client, world):
    domain, base = world["domain"], world["base"]
    response = client.list_open_workflow_executions(domain=domain, startTimeFilter={"oldestDate": base})
    assert wids(response) == ["w4", "w2", "w0"]
    w2 = response["executionInfos"][1]
    assert w2["execution"] == {"workflowId": "w2", "runId": world["runs"]["w2"]}
    assert w2["workflowType"] == {"name": "B", "version": "1"}
    assert w2["executionStatus"] == "OPEN"
    assert w2["tagList"] == ["red", "blue"]
    assert epoch(w2["startTimestamp"]) == base + 20
    assert "closeTimestamp" not in w2 and "closeStatus" not in w2
    assert w2.get("cancelRequested", False) is False
    # Filters: time range, type (name, then name+version), tag, execution.
    assert wids(client.list_open_workflow_executions(
        domain=domain, startTimeFilter={"oldestDate": base + 5, "latestDate": base + 25})) == ["w2"]
    assert wids(client.list_open_workflow_executions(
        domain=domain, startTimeFilter={"oldestDate": base}, typeFilter={"name": "B"})) == ["w4", "w2"]
    assert wids(client.list_open_workflow_executions(
        domain=domain, startTimeFilter={"oldestDate": base}, typeFilter={"name": "A", "version": "1"})) == ["w0"]
    assert wids(client.list_open_workflow_executions(
        domain=domain, startTimeFilter={"oldestDate": base}, tagFilter={"tag": "red"})) == ["w2", "w0"]
    assert wids(client.list_open_workflow_executions(
        domain=domain, startTimeFilter={"oldestDate": base}, executionFilter={"workflowId": "w4"})) == ["w4"]
    assert wids(client.list_open_workflow_executions(
        domain=domain, startTimeFilter={"oldestDate": base}, reverseOrder=True)) == ["w0", "w2", "w4"]


def test_list_open_paginator_both_directions(client, world):
    paginator = client.get_paginator("list_open_workflow_executions")
    for reverse, expected in ((False, ["w4", "w2", "w0"]), (True, ["w0", "w2", "w4"])):
        pages = list(paginator.paginate(domain=world["domain"], startTimeFilter={"oldestDate": world["base"]},
                                        reverseOrder=reverse, PaginationConfig={"PageSize": 1}))
        assert [w for page in pages for w in wids(page)] == expected
        assert len(pages) == 3


def test_list_closed_workflow_executions(client, world):
    domain, base = world["domain"], world["base"]
    by_start = client.list_closed_workflow_executions(domain=domain, startTimeFilter={"oldestDate": base})
    assert wids(by_start) == ["w3", "w1"]
    by_close = client.list_closed_workflow_executions(domain=domain, closeTimeFilter={"oldestDate": base})
    assert wids(by_close) == ["w1", "w3"]  # w1 was terminated last
    info = by_close["executionInfos"][0]
    assert info["executionStatus"] == "CLOSED" and info["closeStatus"] == "TERMINATED"
    assert epoch(info["closeTimestamp"]) == base + 60
    assert wids(client.list_closed_workflow_executions(
        domain=domain, closeTimeFilter={"oldestDate": base}, closeStatusFilter={"status": "TERMINATED"})) == ["w1", "w3"]
    assert wids(client.list_closed_workflow_executions(
        domain=domain, closeTimeFilter={"oldestDate": base}, closeStatusFilter={"status": "COMPLETED"})) == []
    assert wids(client.list_closed_workflow_executions(
        domain=domain, startTimeFilter={"oldestDate": base}, tagFilter={"tag": "blue"})) == ["w1"]
    paginator = client.get_paginator("list_closed_workflow_executions")
    pages = list(paginator.paginate(domain=domain, closeTimeFilter={"oldestDate": base},
                                    reverseOrder=True, PaginationConfig={"PageSize": 1}))
    assert [w for page in pages for w in wids(page)] == ["w3", "w1"]


def test_count_open_workflow_executions(client, world):
    domain, base = world["domain"], world["base"]
    counted = client.count_open_workflow_executions(domain=domain, startTimeFilter={"oldestDate": base})
    assert (counted["count"], counted["truncated"]) == (3, False)
    counted = client.count_open_workflow_executions(domain=domain, startTimeFilter={"oldestDate": base},
                                                    tagFilter={"tag": "blue"})
    assert counted["count"] == 1
    counted = client.count_open_workflow_executions(domain=domain, startTimeFilter={"oldestDate": base + 100})
    assert counted["count"] == 0


def test_count_closed_workflow_executions(client, world):
    domain, base = world["domain"], world["base"]
    counted = client.count_closed_workflow_executions(domain=domain, closeTimeFilter={"oldestDate": base})
    assert (counted["count"], counted["truncated"]) == (2, False)
    counted = client.count_closed_workflow_executions(domain=domain, startTimeFilter={"oldestDate": base},
                                                      typeFilter={"name": "A", "version": "1"})
    assert counted["count"] == 1


def test_visibility_faults(client, world, name):
    domain, base = world["domain"], world["base"]
    since = {"oldestDate": base}
    fails("ValidationException", client.list_closed_workflow_executions, domain=domain)
    fails("ValidationException", client.count_closed_workflow_executions, domain=domain,
          startTimeFilter=since, closeTimeFilter=since)
    fails("ValidationException", client.list_open_workflow_executions, domain=domain, startTimeFilter=since,
          tagFilter={"tag": "red"}, typeFilter={"name": "A"})
    fails("ValidationException", client.count_closed_workflow_executions, domain=domain, startTimeFilter=since,
          closeStatusFilter={"status": "FAILED"}, executionFilter={"workflowId": "w1"})
    fails("ValidationException", client.list_open_workflow_executions, domain=domain, startTimeFilter=since,
          nextPageToken="forged")
    fails("UnknownResourceFault", client.count_open_workflow_executions, domain=name("missing"),
          startTimeFilter=since)


def test_visibility_on_deprecated_domain(client, world):
    client.deprecate_domain(name=world["domain"])
    assert client.count_open_workflow_executions(
        domain=world["domain"], startTimeFilter={"oldestDate": world["base"]})["count"] == 3
    assert wids(client.list_closed_workflow_executions(
        domain=world["domain"], startTimeFilter={"oldestDate": world["base"]})) == ["w3", "w1"]


# --------------------------------------------------------------------------- restart


def test_registry_survives_restart(tmp_path):
    """Domains, types, tags and page tokens live in SQLite: a new service on the file sees them."""
    db = str(tmp_path / "swf.sqlite")

    def make(service):
        return _SESSION.create_client(
            "swf", region_name="us-east-1", endpoint_url=service.endpoint,
            aws_access_key_id="dummy", aws_secret_access_key="dummy",
            config=Config(retries={"max_attempts": 0}))

    with LocalService(db_path=db, clock=VirtualClock(start=START), poll_timeout=0.2) as first:
        client = make(first)
        for i in range(3):
            client.register_domain(name=f"d{i}", workflowExecutionRetentionPeriodInDays="5",
                                   tags=[{"key": "n", "value": str(i)}])
        client.register_activity_type(domain="d0", name="a", version="1", defaultTaskList={"name": "tl"})
        client.deprecate_domain(name="d2")
        token = client.list_domains(registrationStatus="REGISTERED", maximumPageSize=1)["nextPageToken"]
        arn = client.describe_domain(name="d1")["domainInfo"]["arn"]
    with LocalService(db_path=db, clock=VirtualClock(start=START + 100), poll_timeout=0.2) as second:
        client = make(second)
        assert client.describe_domain(name="d2")["domainInfo"]["status"] == "DEPRECATED"
        described = client.describe_activity_type(domain="d0", activityType={"name": "a", "version": "1"})
        assert described["configuration"] == {"defaultTaskList": {"name": "tl"}}
        assert described["typeInfo"]["creationDate"] == at(START)
        assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "n", "value": "1"}]
        page = client.list_domains(registrationStatus="REGISTERED", maximumPageSize=1, nextPageToken=token)
        assert [d["name"] for d in page["domainInfos"]] == ["d1"]
        fails("DomainAlreadyExistsFault", client.register_domain, name="d0", workflowExecutionRetentionPeriodInDays="1")
