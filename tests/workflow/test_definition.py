"""Definitions: decorators, validation at decoration, types, options, starters."""

from __future__ import annotations

import datetime

import pytest

import greenflow.workflow as wf
from greenflow import errors
from greenflow.activity import ActivityType, activities, activity, activity_types
from greenflow.workflow._options import current_activity_options
from greenflow.workflow._starter import current_starter, use_starter

from .history import History, Sim, attrs
from .workflows import Acts, Child, Sequential


def test_workflow_types_defaults():
    (t,) = wf.workflow_types(Sequential)
    assert t == wf.WorkflowType(name="Sequential", version="1.0", method_name="run",
                                execution_start_to_close_timeout=3600, task_start_to_close_timeout=30,
                                task_list=None, task_priority=None, child_policy="TERMINATE", description=None)
    assert wf.workflow_type_of(Sequential.run) is t
    assert wf.workflow_type_of(Sequential().run) is t


def test_several_versions_in_one_class_and_by_inheritance():
    @wf.workflow(name="Orders")
    class OrdersV1(wf.WorkflowDefinition):
        @wf.execute(version="1.0", task_list="orders", execution_start_to_close_timeout=datetime.timedelta(hours=1))
        def run(self):
            return 1

        @wf.execute(version="1.1", child_policy="ABANDON", task_priority=3, description="d")
        def run_fast(self):
            return 2

    @wf.workflow(name="Orders")
    class OrdersV2(OrdersV1):
        @wf.execute(version="2.0")
        def run(self):
            return 3

    v1 = {t.version: t for t in wf.workflow_types(OrdersV1)}
    assert v1["1.0"].execution_start_to_close_timeout == 3600 and v1["1.0"].task_list == "orders"
    assert v1["1.1"].child_policy == "ABANDON" and v1["1.1"].task_priority == 3
    assert sorted(t.version for t in wf.workflow_types(OrdersV2)) == ["1.1", "2.0"]
    with pytest.raises(errors.DefinitionError, match="defined twice"):
        wf.Decider([OrdersV1, OrdersV2])

    class Renamed(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            return "v1"

    @wf.workflow(name="Renamed")
    class RenamedV2(Renamed):
        @wf.execute(version="2.0")
        def run(self):
            return "v2"

    decider = wf.Decider([Renamed, RenamedV2])
    for version, expected in (("1.0", '"v1"'), ("2.0", '"v2"')):
        result = Sim(decider, History("Renamed", version, run_id=version)).step()
        assert attrs(result.decisions[0])["result"] == expected


def test_execute_validation_reports_all_problems():
    with pytest.raises(errors.DefinitionError) as info:
        class Bad(wf.WorkflowDefinition):  # noqa: F841
            @wf.execute(version="a:b", task_start_to_close_timeout=-1, child_policy="KILL", task_list="x/y",
                        task_priority=2**40)
            def run(self):
                pass
    message = str(info.value)
    for needle in ("Bad.run", "version", "task_start_to_close_timeout", "child_policy", "task_list", "task_priority"):
        assert needle in message


@pytest.mark.parametrize("make", [
    lambda: wf.execute(version="1.0")(staticmethod(lambda: None)),
    lambda: wf.execute("1.0")(lambda self: (yield)),
    lambda: wf.signal()(lambda self: (yield)),
])
def test_execute_rejects_non_plain_functions(make):
    with pytest.raises(errors.DefinitionError):
        make()


def test_async_execute_rejected():
    async def run(self):
        pass

    with pytest.raises(errors.DefinitionError, match="async"):
        wf.execute(version="1.0")(run)


def test_execute_reports_every_swf_rule_it_breaks():
    def run(self):
        pass

    with pytest.raises(errors.DefinitionError) as caught:
        wf.execute(version="v:1", execution_start_to_close_timeout=31_536_001, task_list="arn",
                   task_priority=2**31, child_policy="KILL", description="x" * 1025)(run)
    message = str(caught.value)
    for part in ("version 'v:1' must not contain ':'", "at most 31536000 seconds", "task_list 'arn' must not be",
                 "task_priority", "child_policy", "description"):
        assert part in message
    # One year exactly is SWF's limit, and allowed.
    wf.execute(version="1", execution_start_to_close_timeout=31_536_000)(run)


def test_bare_execute_is_a_clear_error():
    with pytest.raises(errors.DefinitionError, match="needs a version"):
        class Bad(wf.WorkflowDefinition):  # noqa: F841
            @wf.execute
            def run(self):
                pass


def test_duplicate_versions_signals_queries_rejected():
    with pytest.raises(errors.DefinitionError, match="both declare version"):
        class A(wf.WorkflowDefinition):  # noqa: F841
            @wf.execute(version="1")
            def a(self):
                pass

            @wf.execute(version="1")
            def b(self):
                pass

    with pytest.raises(errors.DefinitionError, match="both handle signal 'x'"):
        class B(wf.WorkflowDefinition):  # noqa: F841
            @wf.signal(name="x")
            def a(self):
                pass

            @wf.signal(name="x")
            def b(self):
                pass


def test_workflow_types_errors():
    class NoExecute(wf.WorkflowDefinition):
        pass

    with pytest.raises(errors.DefinitionError, match="no @execute"):
        wf.workflow_types(NoExecute)
    with pytest.raises(errors.DefinitionError, match="not a WorkflowDefinition"):
        wf.workflow_types(int)
    with pytest.raises(errors.DefinitionError):
        wf.workflow_type_of(print)
    with pytest.raises(errors.DefinitionError):
        wf.workflow(name="x")(int)
    with pytest.raises(errors.DefinitionError, match="workflow name"):
        wf.workflow(name="a|b")(type("C", (wf.WorkflowDefinition,), {}))


def test_execute_outside_run_uses_starter_or_explains():
    with pytest.raises(errors.WorkflowError, match="client.start"):
        Sequential.run(3)

    class Starter:
        def start_workflow(self, workflow_type, args, kwargs):
            return ("handle", workflow_type.name, args, kwargs)

    assert current_starter() is None
    with use_starter(Starter()):
        assert Sequential.run(3, x=1) == ("handle", "Sequential", (3,), {"x": 1})
    assert current_starter() is None
    with pytest.raises(TypeError):
        with use_starter(object()):
            pass


def test_instance_methods_are_plain():
    assert Child().run(4) == 8
    assert Acts().add(1, 2) == 3
    assert Acts.add(Acts(), 1, 2) == 3  # through the class, outside a run: the plain function


def test_activity_types_of_instance():
    acts = Acts()
    pairs = dict((t.name, (t, fn)) for t, fn in activity_types(acts))
    assert set(pairs) == {"Acts.add", "Multiply", "Acts.flaky"}
    t, fn = pairs["Multiply"]
    assert t == ActivityType(name="Multiply", version="2.0", task_list="acts", start_to_close_timeout=60,
                             heartbeat_timeout=10)
    assert fn(3, 4) == 12
    assert pairs["Acts.flaky"][0].retry.max_attempts == 3
    with pytest.raises(errors.DefinitionError, match="instance"):
        activity_types(Acts)
    with pytest.raises(errors.DefinitionError, match="@activities"):
        activity_types(object())


def test_activities_prefix_version_inheritance_and_docstring_description():
    @activities(name_prefix="billing.", version="3", schedule_to_close_timeout=100, task_priority=1)
    class Base:
        @activity(schedule_to_close_timeout=5)
        def charge(self):
            """Charge the card.

            More text."""

    @activities()
    class Sub(Base):
        @activity(name="refund-it")
        def refund(self):
            pass

    base = {t.name: t for t, _ in activity_types(Base())}
    assert base["billing.charge"].version == "3"
    assert base["billing.charge"].schedule_to_close_timeout == 5
    assert base["billing.charge"].task_priority == 1
    assert base["billing.charge"].description == "Charge the card."
    sub = {t.name: t for t, _ in activity_types(Sub())}
    assert set(sub) == {"Sub.charge", "refund-it"}


def test_activity_validation_reports_all_problems():
    with pytest.raises(errors.DefinitionError) as info:
        activity(version="x" * 65, name="a:b", heartbeat_timeout=1.5, retry="often")(lambda self: None)
    for needle in ("version", "name", "heartbeat_timeout", "retry"):
        assert needle in str(info.value)
    with pytest.raises(errors.DefinitionError, match="both define activity"):
        @activities()
        class Twice:  # noqa: F841
            @activity(name="same")
            def a(self):
                pass

            @activity(name="same")
            def b(self):
                pass

    class Undecorated:
        @activity()
        def a(self):
            pass

    class W(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            Undecorated.a()

    result = Sim(wf.Decider([W]), History("W")).step()
    assert "DefinitionError" in attrs(result.decisions[0])["reason"]


def test_options_merge_and_validate():
    with wf.workflow_options(task_list="a", tags=["x"]):
        with wf.workflow_options(task_list="b", child_policy="ABANDON"):
            assert wf.current_workflow_options() == {"task_list": "b", "tags": ["x"], "child_policy": "ABANDON"}
        assert wf.current_workflow_options() == {"task_list": "a", "tags": ["x"]}
    assert wf.current_workflow_options() == {}
    with wf.activity_options(start_to_close_timeout=datetime.timedelta(minutes=1), retry=wf.RetryPolicy()):
        assert current_activity_options()["start_to_close_timeout"] == 60
    with pytest.raises(errors.DefinitionError) as info:
        with wf.workflow_options(workflow_id="", tags=["a"] * 6, child_policy="NO", task_priority="high"):
            pass
    for needle in ("workflow_id", "tags", "child_policy", "task_priority"):
        assert needle in str(info.value)
    with pytest.raises(errors.DefinitionError, match="retry"):
        with wf.activity_options(retry=3):
            pass


def test_payload_too_large_names_the_activity():
    class Big(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                Acts.add("x" * 40000, "")
            except errors.PayloadTooLargeError as e:
                return e.what

    result = Sim(wf.Decider([Big]), History("Big")).step()
    assert "input of activity Acts.add" in attrs(result.decisions[0])["result"]


def test_large_result_fails_execution_clearly():
    class BigResult(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            return "x" * 40000

    result = Sim(wf.Decider([BigResult]), History("BigResult")).step()
    assert attrs(result.decisions[0])["reason"].endswith("PayloadTooLargeError")


def test_bad_arguments_to_api_fail_fast():
    class Bad(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            problems = []
            for call in (lambda: wf.sleep(-1), lambda: wf.version("a:b", 0, 1), lambda: wf.version("a", 2, 1),
                         lambda: wf.spawn(3), lambda: wf.signal_external("", "s"), lambda: wf.wait_any(),
                         lambda: wf.side_effect(3), lambda: wf.wait_all(3), lambda: wf.retry(None, print)):
                try:
                    call()
                except (ValueError, TypeError) as e:
                    problems.append(type(e).__name__)
            return problems

    result = Sim(wf.Decider([Bad]), History("Bad")).step()
    assert attrs(result.decisions[0])["result"].count("Error") == 9
