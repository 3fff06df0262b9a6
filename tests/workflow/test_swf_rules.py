"""The SWF value rules shared by the workflow side and the local service agree."""

from __future__ import annotations

import pytest

from greenflow import _swf_rules as rules
from greenflow.local.wire import _rules as local_rules
from greenflow.workflow import _validate


@pytest.mark.parametrize("value", ["ok", "a:b", "a/b", "a|b", "tab\there", "del\x7f", "c1\x85", "arn", "arn:x", "é"])
def test_name_rule_is_the_same_on_both_sides(value):
    assert rules.name_problem(value) == local_rules.name_problem(value)
    workflow_side = _validate.name_problem("name", value)
    assert (workflow_side is None) == (rules.name_problem(value) is None)


@pytest.mark.parametrize(
    "name", ["NONE", "MAX_EXECUTION_SECONDS", "MAX_RETENTION_DAYS", "INT32_MIN", "INT32_MAX", "name_problem"]
)
def test_the_local_service_uses_the_shared_rules(name):
    # One definition, not two kept equal: the local service re-exports greenflow._swf_rules.
    assert getattr(local_rules, name) is getattr(rules, name)


def test_priority_range_edges():
    assert _validate.priority_problem(rules.INT32_MAX) is None
    assert _validate.priority_problem(rules.INT32_MIN) is None
    assert _validate.priority_problem(rules.INT32_MAX + 1) is not None
    assert _validate.priority_problem(True) is not None
