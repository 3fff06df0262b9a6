"""Request validation against botocore's SWF service model.

Every request is checked by walking the operation's input shape, dispatching on each
shape's ``type_name`` (as botocore's own validator does): required members, JSON types,
string lengths, number ranges, enums, plus SWF's rules the model states only in its
documentation, which are derived from that documentation:

* **names** (domain, type name and version, task list, workflowId, activityId, timerId):
  no ``:``, ``/``, ``|`` or control characters, not the literal ``arn``, and for some no
  leading or trailing whitespace; except that a StartChildWorkflowExecution decision's
  ``workflowId`` may hold ``:`` and ``/``, as Amazon SWF accepts them there (AWS's Flow
  frameworks name children ``"<parent runId>:<n>"``; evidence in :mod:`._rules`);
* **durations**: an integer number of seconds ``>= 0`` as a string, or ``"NONE"`` where
  SWF allows it; an execution's start-to-close timeout is at most one year;
* **task priorities**: a 32-bit signed integer as a string;
* **retention**: ``"0"``–``"90"`` days or ``"NONE"``.

The rules themselves live in :mod:`._rules`, shared with the parts of the service that
must re-check a value the model cannot see (a default resolved from a registered type).

botocore checks some of this on the client (required members, types, minimum lengths)
but skips maximum lengths and enums, and any other SWF client may send anything, so the
service checks everything.

All problems of a request are reported at once, AWS style::

    2 validation errors detected: Value null at 'domain' failed to satisfy constraint:
    Member must not be null; Value 'a:b' at 'workflowType.name' failed to satisfy ...

Every string must be valid Unicode: JSON can escape a lone UTF-16 surrogate (``"\\ud800"``),
which no UTF-8 database or client can store, so it is refused wherever it appears (a map
key, an unknown member) except inside RespondDecisionTaskCompleted's decisions: there the
engine fails the one decision, the SWF way (see :mod:`greenflow.local.engine._decisions`).

Timestamps arrive as epoch numbers or ISO 8601 strings and leave as epoch floats; members
sent as JSON ``null`` are dropped; members the model does not know are ignored (as AWS
JSON services do). Validators are compiled once per operation, so a request costs a few
microseconds.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any, Callable

from botocore.model import Shape

from . import _model, _rules
from ._faults import validation_error
from ._rules import MAX_EXECUTION_SECONDS, MAX_RETENTION_DAYS  # noqa: F401 - re-exported

#: A compiled check: ``(value, path, errors) -> value`` (possibly normalised). Problems
#: are appended to ``errors`` as AWS-style sentences; nothing is raised.
Check = Callable[[Any, str, list], Any]

_INT32_MIN, _INT32_MAX = _rules.INT32_MIN, _rules.INT32_MAX

# Rules the model states only in member documentation; the phrases are matched verbatim.
_NAME_RULE_PHRASE = "must not contain a <code>:</code>"
_WHITESPACE_RULE_PHRASE = "must not start or end with whitespace"
_NO_NONE_PHRASE = 'cannot specify a value of "NONE"'

# Rule keys attached to a member when compiling its check.
NAME = "name"  # the name rule
TRIMMED = "trimmed"  # no leading/trailing whitespace
DURATION = "duration"  # seconds as a string, NONE allowed
DURATION_NO_NONE = "duration-no-none"  # seconds as a string, NONE refused
EXECUTION_DURATION = "execution-duration"  # at most one year
RETENTION = "retention"  # days as a string, 0..90 or NONE
PRIORITY = "priority"  # 32-bit signed integer as a string
CHILD_WORKFLOW_ID = "child-workflow-id"  # the looser rule SWF applies to child workflow ids

#: Members whose documented name rule Amazon SWF is known not to enforce, and the rule it
#: does apply instead (the evidence is beside :func:`._rules.child_workflow_id_problem`).
_LOOSER_THAN_DOCUMENTED = {
    ("StartChildWorkflowExecutionDecisionAttributes", "workflowId"): CHILD_WORKFLOW_ID,
}


def member_rules(member_name: str, member: Shape, structure: str | None = None) -> frozenset[str]:
    """The SWF rules that apply to one structure member, derived from the model.

    Args:
        member_name: the member's name in its structure (``"taskList"``).
        member: the member's shape, as botocore gives it (carries the member's docs).
        structure: the name of the structure holding the member; where Amazon SWF is
            known to enforce less than the docs say, its real rule replaces the documented one.
    """
    doc = member.documentation or ""
    rules = set()
    looser = _LOOSER_THAN_DOCUMENTED.get((structure, member_name)) if structure else None
    if looser is not None:
        rules.add(looser)
    elif _NAME_RULE_PHRASE in doc:
        rules.add(NAME)
        if _WHITESPACE_RULE_PHRASE in doc:
            rules.add(TRIMMED)
    elif member.name == "TaskList":
        # A task list's name follows the name rule wherever it appears; the docs say so
        # only where a request names the list to use, not for a type's defaultTaskList.
        rules.add(NAME)
    if member.name.startswith("DurationInSeconds"):
        # DurationInSeconds (the timer's startToFireTimeout) has no NONE; the optional
        # durations allow it unless their docs say otherwise.
        if member.name == "DurationInSeconds" or _NO_NONE_PHRASE in doc:
            rules.add(DURATION_NO_NONE)
        else:
            rules.add(DURATION)
        if member_name.lower().endswith("executionstarttoclosetimeout"):
            rules.add(EXECUTION_DURATION)
    elif member.name == "DurationInDays":
        rules.add(RETENTION)
    elif member.name == "TaskPriority":
        rules.add(PRIORITY)
    return frozenset(rules)


# --------------------------------------------------------------------------- messages


def _fail(errors: list, value: Any, path: str, constraint: str) -> None:
    errors.append(_rules.violation(value, path, constraint))


def _check_size(value: Any, path: str, errors: list, low: int | None, high: int | None) -> None:
    # The model's min/max of a list or map: how many members it may have.
    if low is not None and len(value) < low:
        _fail(errors, value, path, f"must have length greater than or equal to {low}")
    if high is not None and len(value) > high:
        _fail(errors, value, path, f"must have length less than or equal to {high}")


def error_message(errors: list[str]) -> str:
    """Join problems the way AWS does: ``"2 validation errors detected: A; B"``."""
    count = len(errors)
    return f"{count} validation error{'s' if count != 1 else ''} detected: " + "; ".join(errors)


# --------------------------------------------------------------------------- compiling


class _Compiler:
    """Turns model shapes into checks, once per (shape, rules)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, frozenset[str]], Check] = {}

    def compile(self, shape: Shape, rules: frozenset[str] = frozenset()) -> Check:
        key = (shape.name, rules)
        check = self._cache.get(key)
        if check is None:
            build = getattr(self, "_" + shape.type_name, None)
            if build is None:
                raise NotImplementedError(f"no validator for shape type {shape.type_name} ({shape.name})")
            check = build(shape, rules)
            self._cache[key] = check
        return check

    # -- containers

    def _structure(self, shape: Shape, rules: frozenset[str]) -> Check:
        members: dict[str, Check] = {}
        for name, member in shape.members.items():
            member_rule_set = member_rules(name, member, shape.name)
            if NAME in rules and name == "name":
                # A name rule on a structure member (taskList) applies to its name.
                member_rule_set |= rules & {NAME, TRIMMED}
            members[name] = self.compile(member, member_rule_set)
        required = tuple(shape.required_members)
        extra = _decision_check if shape.name == "Decision" else None

        def check_structure(value, path, errors):
            if type(value) is not dict:
                _fail(errors, value, path or "body", "must be a structure (JSON object)")
                return value
            prefix = path + "." if path else ""
            for name in required:
                if value.get(name) is None:
                    _fail(errors, None, prefix + name, "must not be null")
            changes = None
            for name, item in value.items():
                if item is None:
                    # JSON null means "not given": drop it so the service sees one form.
                    changes = changes or []
                    changes.append((name, _DROP))
                    continue
                member_check = members.get(name)
                if member_check is None:
                    continue  # unknown members are ignored, as AWS JSON services do
                new = member_check(item, prefix + name, errors)
                if new is not item:
                    changes = changes or []
                    changes.append((name, new))
            if changes:
                for name, new in changes:
                    if new is _DROP:
                        del value[name]
                    else:
                        value[name] = new
            if extra is not None:
                extra(value, prefix, errors)
            return value

        return check_structure

    def _list(self, shape: Shape, rules: frozenset[str]) -> Check:
        item_check = self.compile(shape.member, rules)
        low, high = shape.metadata.get("min"), shape.metadata.get("max")

        def check_list(value, path, errors):
            if type(value) is not list:
                _fail(errors, value, path, "must be a list")
                return value
            _check_size(value, path, errors, low, high)
            for index, item in enumerate(value):
                item_path = f"{path}.{index + 1}.member"
                if item is None:
                    _fail(errors, None, item_path, "must not be null")
                    continue
                new = item_check(item, item_path, errors)
                if new is not item:
                    value[index] = new
            return value

        return check_list

    def _map(self, shape: Shape, rules: frozenset[str]) -> Check:
        key_check = self.compile(shape.key)
        value_check = self.compile(shape.value)
        low, high = shape.metadata.get("min"), shape.metadata.get("max")

        def check_map(value, path, errors):
            if type(value) is not dict:
                _fail(errors, value, path, "must be a map (JSON object)")
                return value
            _check_size(value, path, errors, low, high)
            for key, item in list(value.items()):
                key_check(key, f"{path}.key", errors)
                new = value_check(item, f"{path}.{key}", errors)
                if new is not item:
                    value[key] = new
            return value

        return check_map

    # -- scalars

    def _string(self, shape: Shape, rules: frozenset[str]) -> Check:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        enum = frozenset(shape.enum) if shape.enum else None
        enum_text = "[" + ", ".join(shape.enum) + "]" if shape.enum else ""
        extra = _string_rule(rules)

        def check_string(value, path, errors):
            if type(value) is not str:
                _fail(errors, value, path, "must be a string")
                return value
            size = len(value)
            if low is not None and size < low:
                _fail(errors, value, path, f"must have length greater than or equal to {low}")
            elif high is not None and size > high:
                _fail(errors, value, path, f"must have length less than or equal to {high}")
            if enum is not None and value not in enum:
                _fail(errors, value, path, f"must satisfy enum value set: {enum_text}")
            if extra is not None and (low is None or size >= low):
                problem = extra(value)
                if problem:
                    _fail(errors, value, path, problem)
            return value

        return check_string

    def _integer(self, shape: Shape, rules: frozenset[str]) -> Check:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if shape.type_name == "integer":
            low = _INT32_MIN if low is None else low
            high = _INT32_MAX if high is None else high
        else:
            low = -(2**63) if low is None else low
            high = 2**63 - 1 if high is None else high
        kind = shape.type_name

        def check_integer(value, path, errors):
            # bool is an int in Python, but true/false is not a number in JSON.
            if type(value) is not int:
                if type(value) is float and value.is_integer():
                    value = int(value)
                else:
                    _fail(errors, value, path, f"must be an {kind}" if kind == "integer" else f"must be a {kind}")
                    return value
            if value < low:
                _fail(errors, value, path, f"must have value greater than or equal to {low}")
            elif value > high:
                _fail(errors, value, path, f"must have value less than or equal to {high}")
            return value

        return check_integer

    _long = _integer

    def _float(self, shape: Shape, rules: frozenset[str]) -> Check:
        def check_number(value, path, errors):
            if type(value) not in (int, float):
                _fail(errors, value, path, "must be a number")
            return value

        return check_number

    _double = _float

    def _boolean(self, shape: Shape, rules: frozenset[str]) -> Check:
        def check_boolean(value, path, errors):
            if type(value) is not bool:
                _fail(errors, value, path, "must be a boolean")
            return value

        return check_boolean

    def _timestamp(self, shape: Shape, rules: frozenset[str]) -> Check:
        def check_timestamp(value, path, errors):
            kind = type(value)
            if kind is float:
                return value
            if kind is int:
                return float(value)
            if kind is str:
                epoch = _parse_timestamp(value)
                if epoch is not None:
                    return epoch
            _fail(errors, value, path, "must be a timestamp (epoch seconds or ISO 8601)")
            return value

        return check_timestamp

    def _blob(self, shape: Shape, rules: frozenset[str]) -> Check:
        def check_blob(value, path, errors):
            if type(value) is not str:
                _fail(errors, value, path, "must be base64-encoded binary data")
            return value

        return check_blob


class _Drop:
    """Marker: remove this member from the request."""


_DROP = _Drop()


def _parse_timestamp(text: str) -> float | None:
    """An ISO 8601 string (or a number in a string) as epoch seconds; ``None`` if neither."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)  # AWS reads naive times as UTC
    return moment.timestamp()


# --------------------------------------------------------------------------- SWF's string rules


def _string_rule(rules: frozenset[str]) -> Callable[[str], str | None] | None:
    """The extra check of a string member's SWF rules: returns a problem or ``None``."""
    checks = []
    if NAME in rules:
        checks.append(_rules.name_problem)
    if CHILD_WORKFLOW_ID in rules:
        checks.append(_rules.child_workflow_id_problem)
    if TRIMMED in rules:
        checks.append(_rules.trimmed_problem)
    if DURATION in rules or DURATION_NO_NONE in rules:
        allow_none = DURATION in rules
        limit = MAX_EXECUTION_SECONDS if EXECUTION_DURATION in rules else None
        checks.append(functools.partial(_rules.duration_problem, allow_none=allow_none, limit=limit))
    if RETENTION in rules:
        checks.append(_rules.retention_problem)
    if PRIORITY in rules:
        checks.append(_rules.priority_problem)
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]

    def check_all(value: str) -> str | None:
        for check in checks:
            problem = check(value)
            if problem:
                return problem
        return None

    return check_all


def _decision_check(decision: dict, prefix: str, errors: list) -> None:
    """A decision must carry the attributes its type requires (``startTimerDecisionAttributes``
    for ``StartTimer``), or SWF could not apply it."""
    kind = decision.get("decisionType")
    if type(kind) is not str:
        return
    try:
        member = _model.decision_attributes_member(kind)
    except KeyError:
        return  # already reported by the enum check
    if decision.get(member) is None and _model.decision_attributes_shape(kind).required_members:
        _fail(errors, None, prefix + member, f"must not be null for decisionType {kind}")


# --------------------------------------------------------------------------- the validator


class RequestValidator:
    """Checks requests against SWF's model; compiles every operation's check up front.

    Args:
        operations: the operations to compile (all of SWF's by default).
    """

    def __init__(self, operations: tuple[str, ...] | None = None):
        compiler = _Compiler()
        self._checks: dict[str, Check] = {}
        for operation in operations or _model.operation_names():
            shape = _model.input_shape(operation)
            self._checks[operation] = compiler.compile(shape) if shape is not None else _no_input

    def errors(self, operation: str, params: Any) -> list[str]:
        """The problems of a request (empty if valid); normalises ``params`` in place.

        ``KeyError`` if the operation is not one this validator knows.
        """
        errors: list[str] = []
        self._checks[operation](params, "", errors)
        return errors

    def validate(self, operation: str, params: Any, *, surrogates_possible: bool = True) -> dict:
        """Check a request and return its params, normalised (timestamps as epoch floats,
        ``null`` members dropped); raises :class:`~._faults.Fault` ``ValidationException``
        listing every problem.

        ``surrogates_possible=False`` skips the search for lone surrogates, for a caller
        that knows the body holds no ``\\ud`` escape (the only way to write one in JSON).
        """
        errors: list[str] = []
        self._checks[operation](params, "", errors)
        if surrogates_possible and type(params) is dict:
            deciding = operation == "RespondDecisionTaskCompleted"
            for value, path in lone_surrogates(params, skip="decisions" if deciding else None):
                _fail(errors, value, path, "must be valid Unicode (it holds a lone UTF-16 surrogate)")
            decisions = params.get("decisions") if deciding else None
            if type(decisions) is list:
                invalid = frozenset(index for index, decision in enumerate(decisions) if lone_surrogates(decision))
                if invalid:
                    params[INVALID_TEXT_DECISIONS] = invalid
        if errors:
            raise validation_error(error_message(errors))
        return params


class _Key:
    """A dict key no JSON request can send (JSON keys are strings)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: Where validation leaves, in RespondDecisionTaskCompleted's params, the indexes of the
#: decisions that hold a lone surrogate (the engine fails those decisions; see
#: :func:`greenflow.local.engine._decisions.check_batch`). Absent when there are none.
INVALID_TEXT_DECISIONS = _Key("INVALID_TEXT_DECISIONS")


def is_valid_unicode(text: str) -> bool:
    """Whether ``text`` can be encoded (no lone UTF-16 surrogate, which JSON can escape)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def lone_surrogates(value: Any, *, skip: str | None = None) -> list[tuple[str, str]]:
    """``(string, path)`` of every string (map keys too) holding a lone surrogate, paths
    as in validation messages; the top-level member ``skip`` is not searched.

    Iterative, so a deeply nested value cannot exhaust the stack.
    """
    found = []
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if type(item) is str:
            if not is_valid_unicode(item):
                found.append((item, path or "body"))
        elif type(item) is dict:
            prefix = path + "." if path else ""
            for key, member in item.items():
                if not path and key == skip:
                    continue
                if not is_valid_unicode(key):
                    found.append((key, prefix + "key"))
                stack.append((member, prefix + key))
        elif type(item) is list:
            stack.extend((member, f"{path}.{index + 1}.member") for index, member in enumerate(item))
    found.reverse()
    return found


def _no_input(value, path, errors):
    return value


@functools.cache
def default_validator() -> RequestValidator:
    """The process-wide validator of all SWF operations (compiled on first use)."""
    return RequestValidator()


def validate(operation: str, params: Any) -> dict:
    """Validate one request with :func:`default_validator`; see :meth:`RequestValidator.validate`."""
    return default_validator().validate(operation, params)


__all__ = ["RequestValidator", "default_validator", "validate", "member_rules", "error_message",
           "is_valid_unicode", "lone_surrogates", "INVALID_TEXT_DECISIONS"]
