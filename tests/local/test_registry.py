"""The registry (domains, types, tags) driven directly on an in-memory store."""

from __future__ import annotations

import base64

import pytest

from greenflow.local._registry import DomainRecord, Registry, TypeRecord
from greenflow.local.storage._store import Store
from greenflow.local.wire._faults import Fault
from greenflow.local.wire._paging import PageTokenCodec, page_token_codec, request_scope

from .validated import Validated

ARN = "arn:aws:swf:us-east-1:123456789012:/domain/"


class FakeClock:
    """A settable clock (epoch seconds)."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.value = now

    def now(self) -> float:
        return self.value


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store():
    store = Store(":memory:")
    yield store
    store.close()


@pytest.fixture
def registry(store, clock):
    return Validated(Registry(store, clock, region="us-east-1", account_id="123456789012"))


def fault(code: str):
    """pytest.raises for a Fault with this code."""
    return pytest.raises(Fault, match=f"^{code}:")


def domain(registry, name="d", retention="7", **extra):
    registry.register_domain({"name": name, "workflowExecutionRetentionPeriodInDays": retention, **extra})


def wf(registry, name="w", version="1", domain_name="d", **extra):
    registry.register_workflow_type({"domain": domain_name, "name": name, "version": version, **extra})


def act(registry, name="a", version="1", domain_name="d", **extra):
    registry.register_activity_type({"domain": domain_name, "name": name, "version": version, **extra})


def wtype(name="w", version="1", domain_name="d"):
    return {"domain": domain_name, "workflowType": {"name": name, "version": version}}


def atype(name="a", version="1", domain_name="d"):
    return {"domain": domain_name, "activityType": {"name": name, "version": version}}


# --------------------------------------------------------------------------- domains


def test_register_and_describe_domain(registry):
    domain(registry, "orders", "30", description="the orders")
    assert registry.describe_domain({"name": "orders"}) == {
        "domainInfo": {"name": "orders", "status": "REGISTERED", "description": "the orders",
                       "arn": ARN + "orders"},
        "configuration": {"workflowExecutionRetentionPeriodInDays": "30"},
    }
    assert registry.domain("orders") == DomainRecord("orders", "REGISTERED", "the orders", "30", ARN + "orders")
    assert registry.require_domain("orders").arn == ARN + "orders"


def test_describe_domain_without_description_omits_it(registry):
    domain(registry, "x", "NONE")
    described = registry.describe_domain({"name": "x"})
    assert "description" not in described["domainInfo"]
    assert described["configuration"] == {"workflowExecutionRetentionPeriodInDays": "NONE"}


def test_register_existing_domain_fails(registry):
    domain(registry)
    with fault("DomainAlreadyExistsFault"):
        domain(registry)


@pytest.mark.parametrize("retention", ["0", "90", "NONE", "7"])
def test_retention_accepted(registry, retention):
    domain(registry, "x", retention)
    assert registry.domain("x").retention_days == retention


@pytest.mark.parametrize("retention", ["91", "-1", "abc", "", " 5", "none", "1.5", None, 5])
def test_retention_rejected(registry, retention):
    with fault("ValidationException"):
        domain(registry, "x", retention)
    assert registry.domain("x") is None


@pytest.mark.parametrize("name", ["a:b", "a/b", "a|b", "a\x00b", "a\x85b", " lead", "trail ", "arn", ""])
def test_bad_domain_names_rejected(registry, name):
    with fault("ValidationException"):
        domain(registry, name)


def test_unknown_domain(registry):
    assert registry.domain("nope") is None
    with pytest.raises(Fault) as info:
        registry.require_domain("nope")
    assert info.value.code == "UnknownResourceFault"
    assert "nope" in info.value.message
    for call in (registry.describe_domain, registry.deprecate_domain, registry.undeprecate_domain):
        with fault("UnknownResourceFault"):
            call({"name": "nope"})


def test_deprecate_and_undeprecate_domain(registry, clock):
    domain(registry)
    wf(registry)
    act(registry)
    clock.value += 10
    registry.deprecate_domain({"name": "d"})
    assert registry.domain("d").status == "DEPRECATED"
    # Deprecating a domain deprecates its types.
    assert registry.workflow_type("d", "w", "1").status == "DEPRECATED"
    assert registry.workflow_type("d", "w", "1").deprecation_date == clock.value
    assert registry.activity_type("d", "a", "1").status == "DEPRECATED"
    with fault("DomainDeprecatedFault"):
        registry.deprecate_domain({"name": "d"})
    registry.undeprecate_domain({"name": "d"})
    assert registry.domain("d").status == "REGISTERED"
    with fault("DomainAlreadyExistsFault"):
        registry.undeprecate_domain({"name": "d"})


def test_deprecated_domain_rejects_new_types(registry):
    domain(registry)
    registry.deprecate_domain({"name": "d"})
    with fault("OperationNotPermittedFault"):
        wf(registry)
    with fault("OperationNotPermittedFault"):
        act(registry)
    # ... but still answers describes and lists.
    assert registry.describe_domain({"name": "d"})["domainInfo"]["status"] == "DEPRECATED"
    assert registry.list_workflow_types({"domain": "d", "registrationStatus": "REGISTERED"}) == {"typeInfos": []}


def test_domain_limit(registry):
    registry.max_domains = 3
    for i in range(3):
        domain(registry, f"d{i}")
    registry.deprecate_domain({"name": "d0"})  # deprecated domains still count
    with fault("LimitExceededFault"):
        domain(registry, "d3")
    assert registry.domain("d3") is None


def test_domain_limit_is_100(registry):
    for i in range(100):
        domain(registry, f"d{i:03}")
    with fault("LimitExceededFault"):
        domain(registry, "one-too-many")


def test_list_domains_by_status_and_order(registry):
    for name in ["c", "a", "b", "e", "d"]:
        domain(registry, name)
    registry.deprecate_domain({"name": "d"})
    names = lambda r: [i["name"] for i in r["domainInfos"]]  # noqa: E731
    assert names(registry.list_domains({"registrationStatus": "REGISTERED"})) == ["a", "b", "c", "e"]
    assert names(registry.list_domains({"registrationStatus": "REGISTERED", "reverseOrder": True})) == [
        "e", "c", "b", "a"]
    listed = registry.list_domains({"registrationStatus": "DEPRECATED"})
    assert listed == {"domainInfos": [{"name": "d", "status": "DEPRECATED", "arn": ARN + "d"}]}


def collect(call, params):
    """Every page of a paged call: (items, number of pages)."""
    items, pages, token = [], 0, None
    key = None
    while True:
        request = dict(params)
        if token:
            request["nextPageToken"] = token
        page = call(request)
        key = key or next(k for k in page if k != "nextPageToken")
        items.extend(page[key])
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            return items, pages


@pytest.mark.parametrize("reverse", [False, True])
def test_list_domains_pages(registry, reverse):
    names = [f"dom{i:02}" for i in range(11)]
    for name in names:
        domain(registry, name)
    items, pages = collect(registry.list_domains,
                           {"registrationStatus": "REGISTERED", "maximumPageSize": 3, "reverseOrder": reverse})
    assert [i["name"] for i in items] == (names[::-1] if reverse else names)
    assert pages == 4


def test_list_domains_exact_page_has_no_token(registry):
    for i in range(3):
        domain(registry, f"d{i}")
    page = registry.list_domains({"registrationStatus": "REGISTERED", "maximumPageSize": 3})
    assert len(page["domainInfos"]) == 3 and "nextPageToken" not in page


def test_list_domains_page_size_zero_means_default(registry):
    for i in range(5):
        domain(registry, f"d{i}")
    page = registry.list_domains({"registrationStatus": "REGISTERED", "maximumPageSize": 0})
    assert len(page["domainInfos"]) == 5 and "nextPageToken" not in page


def test_list_domains_default_page_is_1000(registry, store):
    # Bypass the 100-domain quota with direct inserts: the page size is what's under test.
    with store.transaction() as conn:
        conn.executemany("INSERT INTO domains VALUES (?, 'REGISTERED', NULL, '1', ?, 0)",
                         [(f"d{i:04}", ARN + f"d{i:04}") for i in range(1001)])
    registry.reload()
    page = registry.list_domains({"registrationStatus": "REGISTERED"})
    assert len(page["domainInfos"]) == 1000 and page["nextPageToken"]
    rest = registry.list_domains({"registrationStatus": "REGISTERED", "nextPageToken": page["nextPageToken"]})
    assert [i["name"] for i in rest["domainInfos"]] == ["d1000"]


@pytest.mark.parametrize("size", [-1, 1001, "5", 2.5, True])
def test_list_domains_bad_page_size(registry, size):
    with fault("ValidationException"):
        registry.list_domains({"registrationStatus": "REGISTERED", "maximumPageSize": size})


def test_list_domains_requires_status(registry):
    with fault("ValidationException"):
        registry.list_domains({})
    with fault("ValidationException"):
        registry.list_domains({"registrationStatus": "GONE"})


def test_tampered_page_token_rejected(registry):
    for i in range(3):
        domain(registry, f"d{i}")
    token = registry.list_domains({"registrationStatus": "REGISTERED", "maximumPageSize": 1})["nextPageToken"]
    payload, mac = token.split(".")
    forged = base64.urlsafe_b64encode(b'["d1"]').rstrip(b"=").decode() + "." + mac
    for bad in (forged, token[:-2], "garbage", "", payload + ".", token + "x"):
        with fault("ValidationException"):
            registry.list_domains({"registrationStatus": "REGISTERED", "maximumPageSize": 1, "nextPageToken": bad})


def test_page_token_bound_to_arguments(registry):
    for i in range(3):
        domain(registry, f"d{i}")
    token = registry.list_domains({"registrationStatus": "REGISTERED", "maximumPageSize": 1})["nextPageToken"]
    # Changing the page size is fine; changing the order or the status is not.
    assert registry.list_domains({"registrationStatus": "REGISTERED", "maximumPageSize": 5,
                                  "nextPageToken": token})["domainInfos"][0]["name"] == "d1"
    with fault("ValidationException"):
        registry.list_domains({"registrationStatus": "REGISTERED", "reverseOrder": True, "nextPageToken": token})
    with fault("ValidationException"):
        registry.list_domains({"registrationStatus": "DEPRECATED", "nextPageToken": token})


def test_page_tokens_survive_a_new_registry_on_the_same_database(tmp_path, clock):
    path = str(tmp_path / "db.sqlite")
    first = Store(path)
    registry = Validated(Registry(first, clock, region="us-east-1", account_id="1"))
    for i in range(3):
        domain(registry, f"d{i}")
    token = registry.list_domains({"registrationStatus": "REGISTERED", "maximumPageSize": 1})["nextPageToken"]
    first.close()
    second = Store(path)
    try:
        again = Validated(Registry(second, clock, region="us-east-1", account_id="1"))
        assert again.domain("d2") is not None  # the cache is loaded from the database
        page = again.list_domains({"registrationStatus": "REGISTERED", "maximumPageSize": 1, "nextPageToken": token})
        assert page["domainInfos"][0]["name"] == "d1"
    finally:
        second.close()


def test_page_token_codec_roundtrip_and_secret(store):
    codec = page_token_codec(store)
    scope = request_scope("Op", {"a": 1, "nextPageToken": "x", "maximumPageSize": 3})
    assert scope == request_scope("Op", {"a": 1})
    token = codec.encode(scope, [1.5, "w", "r"])
    assert codec.decode(token, scope) == [1.5, "w", "r"]
    assert codec.decode(None, scope) is None
    with fault("ValidationException"):
        codec.decode(token, request_scope("Op", {"a": 2}))
    with fault("ValidationException"):
        PageTokenCodec(b"another secret of 32 bytes......").decode(token, scope)
    # The same database gives the same secret.
    assert page_token_codec(store).decode(token, scope) == [1.5, "w", "r"]


# --------------------------------------------------------------------------- types


WORKFLOW_DEFAULTS = {
    "defaultTaskStartToCloseTimeout": "30",
    "defaultExecutionStartToCloseTimeout": "3600",
    "defaultTaskList": {"name": "deciders"},
    "defaultTaskPriority": "5",
    "defaultChildPolicy": "TERMINATE",
    "defaultLambdaRole": "arn:aws:iam::1:role/x",
}
ACTIVITY_DEFAULTS = {
    "defaultTaskStartToCloseTimeout": "60",
    "defaultTaskHeartbeatTimeout": "NONE",
    "defaultTaskList": {"name": "workers"},
    "defaultTaskPriority": "-3",
    "defaultTaskScheduleToStartTimeout": "10",
    "defaultTaskScheduleToCloseTimeout": "70",
}


def test_register_and_describe_workflow_type(registry, clock):
    domain(registry)
    wf(registry, description="the w", **WORKFLOW_DEFAULTS)
    assert registry.describe_workflow_type(wtype()) == {
        "typeInfo": {"workflowType": {"name": "w", "version": "1"}, "status": "REGISTERED",
                     "description": "the w", "creationDate": clock.value},
        "configuration": WORKFLOW_DEFAULTS,
    }
    record = registry.workflow_type("d", "w", "1")
    assert record == TypeRecord("workflow", "d", "w", "1", "REGISTERED", "the w", clock.value, None,
                                WORKFLOW_DEFAULTS)
    assert registry.activity_type("d", "w", "1") is None


def test_register_and_describe_activity_type(registry, clock):
    domain(registry)
    act(registry, **ACTIVITY_DEFAULTS)
    described = registry.describe_activity_type(atype())
    assert described == {
        "typeInfo": {"activityType": {"name": "a", "version": "1"}, "status": "REGISTERED",
                     "creationDate": clock.value},
        "configuration": ACTIVITY_DEFAULTS,
    }
    assert registry.activity_type("d", "a", "1").configuration == ACTIVITY_DEFAULTS


def test_type_without_defaults_has_empty_configuration(registry):
    domain(registry)
    wf(registry)
    assert registry.describe_workflow_type(wtype())["configuration"] == {}


def test_type_defaults_only_of_its_kind(registry):
    domain(registry)
    # An activity default on a workflow type is not part of the workflow's configuration.
    wf(registry, defaultTaskHeartbeatTimeout="5")
    assert registry.workflow_type("d", "w", "1").configuration == {}


@pytest.mark.parametrize("member, value", [
    ("defaultTaskStartToCloseTimeout", "abc"),
    ("defaultTaskStartToCloseTimeout", "-1"),
    ("defaultExecutionStartToCloseTimeout", "NONE"),
    ("defaultExecutionStartToCloseTimeout", "31536001"),
    ("defaultTaskPriority", "high"),
    ("defaultTaskPriority", "2147483648"),
    ("defaultTaskList", {"name": "a:b"}),
    ("defaultTaskList", "tl"),
])
def test_bad_workflow_defaults_rejected(registry, member, value):
    domain(registry)
    with fault("ValidationException"):
        wf(registry, **{member: value})
    assert registry.workflow_type("d", "w", "1") is None


@pytest.mark.parametrize("field", ["name", "version"])
def test_bad_type_names_rejected(registry, field):
    domain(registry)
    with fault("ValidationException"):
        registry.register_activity_type({"domain": "d", "name": "a", "version": "1", field: "x|y"})


def test_type_names_may_have_surrounding_spaces(registry):
    # The model documents the whitespace rule for domain names only, not for type names.
    domain(registry)
    wf(registry, name=" w ", version=" 1")
    assert registry.workflow_type("d", " w ", " 1") is not None


def test_type_in_unknown_domain(registry):
    with fault("UnknownResourceFault"):
        wf(registry, domain_name="nope")
    with fault("UnknownResourceFault"):
        registry.list_activity_types({"domain": "nope", "registrationStatus": "REGISTERED"})


def test_register_existing_type_fails(registry):
    domain(registry)
    wf(registry)
    act(registry)
    with fault("TypeAlreadyExistsFault") as info:
        wf(registry)
    assert info.value.message == "WorkflowType=[name=w, version=1]"
    with fault("TypeAlreadyExistsFault"):
        act(registry)
    # The same name and version as the other kind is a different type.
    act(registry, name="w")
    wf(registry, version="2")


@pytest.mark.parametrize("kind", ["workflow", "activity"])
def test_type_lifecycle(registry, clock, kind):
    domain(registry)
    register, ident = (wf, wtype) if kind == "workflow" else (act, atype)
    name = "w" if kind == "workflow" else "a"
    ops = {verb: getattr(registry, f"{verb}_{kind}_type")
           for verb in ("deprecate", "undeprecate", "delete", "describe")}
    lookup = getattr(registry, f"{kind}_type")
    register(registry)
    with fault("TypeNotDeprecatedFault"):
        ops["delete"](ident())
    with fault("TypeAlreadyExistsFault"):
        ops["undeprecate"](ident())
    clock.value += 5
    ops["deprecate"](ident())
    info = ops["describe"](ident())["typeInfo"]
    assert info["status"] == "DEPRECATED" and info["deprecationDate"] == clock.value
    assert lookup("d", name, "1").status == "DEPRECATED"
    with fault("TypeDeprecatedFault"):
        ops["deprecate"](ident())
    ops["undeprecate"](ident())
    info = ops["describe"](ident())["typeInfo"]
    assert info["status"] == "REGISTERED" and "deprecationDate" not in info
    ops["deprecate"](ident())
    ops["delete"](ident())
    assert lookup("d", name, "1") is None
    for verb in ("deprecate", "undeprecate", "delete", "describe"):
        with fault("UnknownResourceFault") as info:
            ops[verb](ident())
        assert f"name={name}, version=1" in info.value.message
    # A deleted type can be registered again.
    register(registry)
    assert lookup("d", name, "1").status == "REGISTERED"


def test_type_ops_on_unknown_domain(registry):
    for op in ("deprecate", "undeprecate", "delete", "describe"):
        with fault("UnknownResourceFault"):
            getattr(registry, f"{op}_workflow_type")(wtype(domain_name="nope"))


def test_type_limit_per_kind(registry):
    registry.max_types_per_kind = 3
    domain(registry)
    domain(registry, "other")
    for i in range(3):
        wf(registry, version=str(i))
    registry.deprecate_workflow_type(wtype(version="0"))  # deprecated types still count
    with fault("LimitExceededFault"):
        wf(registry, version="3")
    act(registry)  # the other kind has its own quota
    wf(registry, domain_name="other")  # so does another domain
    registry.delete_workflow_type(wtype(version="0"))  # deleted ones no longer count
    wf(registry, version="3")


def test_type_limit_is_10000(registry, store):
    domain(registry)
    with store.transaction() as conn:
        conn.executemany("INSERT INTO types VALUES ('activity', 'd', 'a', ?, 'REGISTERED', NULL, 0, NULL, '{}')",
                         [(str(i),) for i in range(9999)])
    registry.reload()
    act(registry, version="last")
    with fault("LimitExceededFault"):
        act(registry, version="one-too-many")


def test_list_types_order_status_and_name_filter(registry):
    domain(registry)
    for name, version in [("b", "1"), ("a", "2"), ("a", "1"), ("c", "1"), ("a", "10")]:
        wf(registry, name, version)
    registry.deprecate_workflow_type(wtype("c", "1"))
    keys = lambda r: [(i["workflowType"]["name"], i["workflowType"]["version"]) for i in r["typeInfos"]]  # noqa: E731
    listed = registry.list_workflow_types({"domain": "d", "registrationStatus": "REGISTERED"})
    assert keys(listed) == [("a", "1"), ("a", "10"), ("a", "2"), ("b", "1")]
    listed = registry.list_workflow_types({"domain": "d", "registrationStatus": "REGISTERED", "reverseOrder": True})
    assert keys(listed) == [("b", "1"), ("a", "2"), ("a", "10"), ("a", "1")]
    listed = registry.list_workflow_types({"domain": "d", "registrationStatus": "REGISTERED", "name": "a"})
    assert keys(listed) == [("a", "1"), ("a", "10"), ("a", "2")]
    listed = registry.list_workflow_types({"domain": "d", "registrationStatus": "DEPRECATED"})
    assert keys(listed) == [("c", "1")]
    assert listed["typeInfos"][0]["deprecationDate"] is not None
    assert registry.list_activity_types({"domain": "d", "registrationStatus": "REGISTERED"}) == {"typeInfos": []}
    with fault("ValidationException"):
        registry.list_workflow_types({"domain": "d"})


@pytest.mark.parametrize("reverse", [False, True])
def test_list_activity_types_pages(registry, reverse):
    domain(registry)
    expected = []
    for name in ("x", "y"):
        for version in ("1", "2", "3", "4"):
            act(registry, name, version)
            expected.append((name, version))
    act(registry, "z", "1", domain_name="d")
    items, pages = collect(registry.list_activity_types,
                           {"domain": "d", "registrationStatus": "REGISTERED", "name": None,
                            "maximumPageSize": 3, "reverseOrder": reverse})
    got = [(i["activityType"]["name"], i["activityType"]["version"]) for i in items]
    expected.append(("z", "1"))
    assert got == (expected[::-1] if reverse else expected)
    assert pages == 3
    # Paging with a name filter: only that name's versions.
    items, _ = collect(registry.list_activity_types,
                       {"domain": "d", "registrationStatus": "REGISTERED", "name": "y", "maximumPageSize": 1})
    assert [i["activityType"]["version"] for i in items] == ["1", "2", "3", "4"]


def test_list_types_token_not_reusable_across_operations(registry):
    domain(registry)
    for v in "123":
        wf(registry, version=v)
        act(registry, version=v)
    token = registry.list_workflow_types({"domain": "d", "registrationStatus": "REGISTERED",
                                          "maximumPageSize": 1})["nextPageToken"]
    with fault("ValidationException"):
        registry.list_activity_types({"domain": "d", "registrationStatus": "REGISTERED",
                                      "maximumPageSize": 1, "nextPageToken": token})


# --------------------------------------------------------------------------- cache vs. database


def test_cache_matches_database_after_reload(registry, store, clock):
    domain(registry, description="x")
    wf(registry, **WORKFLOW_DEFAULTS)
    act(registry, **ACTIVITY_DEFAULTS)
    registry.deprecate_activity_type(atype())
    fresh = Validated(Registry(store, clock, region="us-east-1", account_id="123456789012"))
    assert fresh.domain("d") == registry.domain("d")
    assert fresh.workflow_type("d", "w", "1") == registry.workflow_type("d", "w", "1")
    assert fresh.activity_type("d", "a", "1") == registry.activity_type("d", "a", "1")


def test_failed_commit_leaves_cache_unchanged(registry, store):
    domain(registry)
    wf(registry)
    # Make every write fail at the database: the operation must fault and the cache stay put.
    store.connection.execute("CREATE TEMP TRIGGER no_updates BEFORE UPDATE ON types "
                             "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    store.connection.execute("CREATE TEMP TRIGGER no_domain_updates BEFORE UPDATE ON domains "
                             "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    with pytest.raises(Exception, match="disk says no"):
        registry.deprecate_workflow_type(wtype())
    assert registry.workflow_type("d", "w", "1").status == "REGISTERED"
    with pytest.raises(Exception, match="disk says no"):
        registry.deprecate_domain({"name": "d"})
    assert registry.domain("d").status == "REGISTERED"
    assert registry.workflow_type("d", "w", "1").status == "REGISTERED"
    assert not store.in_transaction


def test_reload_after_outer_rollback(registry, store):
    domain(registry)
    with pytest.raises(RuntimeError):
        with store.transaction():
            wf(registry)
            raise RuntimeError("the caller's request failed later")
    registry.reload()
    assert registry.workflow_type("d", "w", "1") is None


# --------------------------------------------------------------------------- tags


def test_register_domain_with_tags(registry):
    domain(registry, tags=[{"key": "team", "value": "a"}, {"key": "env"}])
    assert registry.list_tags_for_resource({"resourceArn": ARN + "d"}) == {
        "tags": [{"key": "env", "value": ""}, {"key": "team", "value": "a"}]}


def test_register_domain_too_many_tags(registry):
    with fault("TooManyTagsFault"):
        domain(registry, tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])
    assert registry.domain("d") is None
    domain(registry, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)])
    assert len(registry.list_tags_for_resource({"resourceArn": ARN + "d"})["tags"]) == 50


def test_tag_untag_list(registry):
    domain(registry)
    arn = ARN + "d"
    assert registry.list_tags_for_resource({"resourceArn": arn}) == {"tags": []}
    registry.tag_resource({"resourceArn": arn, "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]})
    registry.tag_resource({"resourceArn": arn, "tags": [{"key": "a", "value": "3"}]})
    assert registry.list_tags_for_resource({"resourceArn": arn}) == {
        "tags": [{"key": "a", "value": "3"}, {"key": "b", "value": "2"}]}
    registry.untag_resource({"resourceArn": arn, "tagKeys": ["a", "missing"]})
    assert registry.list_tags_for_resource({"resourceArn": arn}) == {"tags": [{"key": "b", "value": "2"}]}


def test_tag_resource_too_many_counts_existing_tags(registry):
    domain(registry)
    arn = ARN + "d"
    registry.tag_resource({"resourceArn": arn, "tags": [{"key": f"k{i}", "value": ""} for i in range(40)]})
    # Overwriting existing keys does not add to the count.
    registry.tag_resource({"resourceArn": arn, "tags": [{"key": f"k{i}", "value": "x"} for i in range(40)]})
    with fault("TooManyTagsFault"):
        registry.tag_resource({"resourceArn": arn, "tags": [{"key": f"n{i}", "value": ""} for i in range(11)]})
    assert len(registry.list_tags_for_resource({"resourceArn": arn})["tags"]) == 40
    registry.tag_resource({"resourceArn": arn, "tags": [{"key": f"n{i}", "value": ""} for i in range(10)]})
    assert len(registry.list_tags_for_resource({"resourceArn": arn})["tags"]) == 50


def test_tags_on_unknown_resource(registry):
    domain(registry)
    for arn in (ARN + "nope", "arn:aws:swf:eu-west-1:123456789012:/domain/d", "junk"):
        with fault("UnknownResourceFault") as info:
            registry.tag_resource({"resourceArn": arn, "tags": [{"key": "a"}]})
        assert arn in info.value.message
        with fault("UnknownResourceFault"):
            registry.untag_resource({"resourceArn": arn, "tagKeys": ["a"]})
        with fault("UnknownResourceFault"):
            registry.list_tags_for_resource({"resourceArn": arn})


def test_deprecated_domain_can_be_tagged(registry):
    domain(registry)
    registry.deprecate_domain({"name": "d"})
    registry.tag_resource({"resourceArn": ARN + "d", "tags": [{"key": "k", "value": "v"}]})
    assert registry.list_tags_for_resource({"resourceArn": ARN + "d"})["tags"] == [{"key": "k", "value": "v"}]


def test_operations_have_methods(registry):
    assert len(Registry.OPERATIONS) == 20
    import re

    for operation in Registry.OPERATIONS:
        method = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
        assert callable(getattr(registry, method)), operation
