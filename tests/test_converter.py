"""Tests for greenflow.converter: faithful round trips, safety against hostile payloads."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import subprocess
import sys
import uuid

import pytest

from greenflow import errors
from greenflow.converter import (
    DEFAULT_CONVERTER,
    JSONConverter,
    PickleConverter,
    RemoteException,
    check_size,
    exception_from_failure,
    failure_from_exception,
)


@dataclasses.dataclass
class Point:
    x: int
    y: tuple


@dataclasses.dataclass(frozen=True)
class Frozen:
    name: str
    when: dt.date
    computed: int = dataclasses.field(default=0, init=False)


class Color(enum.Enum):
    RED = "red"
    BLUE = (0, 0, 255)


class OrderError(Exception):
    """An application exception with extra state."""

    def __init__(self, message, order_id):
        super().__init__(message, order_id)
        self.order_id = order_id


class KeywordError(Exception):
    def __init__(self, message, *, code):
        super().__init__(message)
        self.code = code


class Dangerous:
    """A non-exception class: a payload naming it must never instantiate it."""

    created = 0

    def __init__(self, *args):
        Dangerous.created += 1


@pytest.fixture
def conv():
    return JSONConverter(types=[Point, Frozen, Color])


PLAIN = ["x", 1, 1.5, True, None, [1, "a", None], {"a": {"b": [1, 2]}}, ""]


@pytest.mark.parametrize("value", PLAIN)
def test_plain_values_are_plain_json(conv, value):
    text = conv.dumps(value)
    assert json.loads(text) == value
    assert conv.loads(text) == value


def test_string_is_plain_json_string():
    assert DEFAULT_CONVERTER.dumps("x") == '"x"'
    assert DEFAULT_CONVERTER.dumps([1, 2]) == "[1,2]"


ROUND_TRIPS = [
    (1, 2),
    ((), [()]),
    b"\x00\xffbytes",
    {1, 2, 3},
    frozenset({"a"}),
    dt.datetime(2026, 11, 28, 4, 15, 1, 123456),
    dt.datetime(2026, 11, 28, 4, 15, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.date(2026, 1, 2),
    dt.time(23, 59, 1, 5),
    dt.timedelta(days=-1, seconds=5, microseconds=7),
    decimal.Decimal("1.10"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    {1: "int key", (1, 2): "tuple key", None: 0},
    {"__gf__": "tuple", "items": []},  # a user dict that looks like a tag stays a dict
    float("inf"),
    [{"nested": ({1}, b"x")}],
]


@pytest.mark.parametrize("value", ROUND_TRIPS, ids=repr)
def test_round_trips(conv, value):
    back = conv.loads(conv.dumps(value))
    assert back == value
    assert type(back) is type(value)


def test_nan_round_trips(conv):
    back = conv.loads(conv.dumps(float("nan")))
    assert back != back


def test_zoneinfo_datetime_keeps_zone(conv):
    import zoneinfo  # the tz database comes from the test extra "tzdata" where the OS has none

    zone = zoneinfo.ZoneInfo("Europe/Paris")
    value = dt.datetime(2026, 7, 1, 12, tzinfo=zone)
    back = conv.loads(conv.dumps(value))
    assert back == value and back.tzinfo.key == "Europe/Paris"


def test_registered_dataclass_and_enum_round_trip(conv):
    value = [Point(1, (2, 3)), Frozen("f", dt.date(2020, 1, 1)), Color.BLUE]
    back = conv.loads(conv.dumps(value))
    assert back == value
    assert isinstance(back[0].y, tuple)
    assert back[2] is Color.BLUE


def test_register_decorator_and_annotations():
    conv = JSONConverter()
    assert conv.register(Point) is Point

    def handler(order: list[Frozen], color: Color | None = None) -> Point:
        ...

    conv.register_annotations(handler)
    assert set(conv.registered_types) == {Point, Frozen, Color}


def test_register_rejects_other_classes():
    with pytest.raises(errors.DataConversionError):
        JSONConverter().register(Dangerous)


def test_unregistered_dataclass_is_refused_clearly():
    text = JSONConverter().dumps(Point(1, (2,)))
    with pytest.raises(errors.DataConversionError, match="not registered"):
        JSONConverter().loads(text)


def test_unsupported_type_raises_clear_error(conv):
    with pytest.raises(errors.DataConversionError, match="Dangerous"):
        conv.dumps(Dangerous())


@pytest.mark.parametrize("text", ["{", '{"__gf__": "nope"}', '{"__gf__": "bytes", "b64": "!!"}',
                                  '{"__gf__": "tuple", "items": 3}', '{"__gf__": "set", "items": [[1]]}',
                                  '{"__gf__": "dict", "items": [[[1], 2]]}', '{"__gf__": 5}',
                                  '{"__gf__": "float", "value": "__import__(\'os\')"}'])
def test_malformed_payloads_raise_data_conversion_error(conv, text):
    with pytest.raises(errors.DataConversionError):
        conv.loads(text)


def test_none_and_empty_load_as_none(conv):
    assert conv.loads(None) is None
    assert conv.loads("") is None


# --------------------------------------------------------------------------- hostile payloads


def test_payload_naming_os_system_is_not_called(conv, monkeypatch):
    calls = []
    monkeypatch.setattr("os.system", lambda *a: calls.append(a))
    for kind in ("exception", "dataclass", "enum"):
        payload = json.dumps({"__gf__": kind, "type": "os:system", "args": ["echo pwned"], "message": "m",
                              "fields": {}, "value": 1})
        try:
            value = conv.loads(payload)
        except errors.DataConversionError:
            continue
        assert isinstance(value, RemoteException)
    assert calls == []


def test_payload_naming_non_exception_class_is_not_instantiated(conv):
    name = f"{__name__}:Dangerous"
    before = Dangerous.created
    payload = json.dumps({"__gf__": "exception", "type": name, "args": [], "message": "boom"})
    value = conv.loads(payload)
    assert isinstance(value, RemoteException)
    assert Dangerous.created == before
    with pytest.raises(errors.DataConversionError):
        conv.loads(json.dumps({"__gf__": "dataclass", "type": name, "fields": {}}))
    assert Dangerous.created == before


def test_payload_naming_unimported_module_does_not_import_it(conv):
    assert "antigravity" not in sys.modules
    payload = json.dumps({"__gf__": "exception", "type": "antigravity:Thing", "args": [], "message": "m"})
    value = conv.loads(payload)
    assert isinstance(value, RemoteException)
    assert value.reason == "antigravity.Thing"
    assert "antigravity" not in sys.modules


# A fresh interpreter: decode a payload naming ``name``, then list which modules it imported.
_IMPORT_PROBE = """
import json, sys
import concurrent.futures
import greenflow
from greenflow.converter import JSONConverter, RemoteException
before = set(sys.modules)
value = JSONConverter().loads(json.dumps({"__gf__": "exception", "type": sys.argv[1], "message": "m"}))
print(json.dumps({"remote": isinstance(value, RemoteException), "imported": sorted(set(sys.modules) - before)}))
"""


@pytest.mark.parametrize("name, module", [
    ("greenflow:LocalService", "greenflow.local"),  # greenflow's lazy attribute
    ("concurrent.futures:ProcessPoolExecutor", "multiprocessing"),  # the standard library's
])
def test_payload_naming_a_lazy_attribute_imports_nothing(name, module):
    probe = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, name], capture_output=True, text=True,
                           timeout=60, check=True)
    outcome = json.loads(probe.stdout)
    assert outcome["remote"]
    assert not [imported for imported in outcome["imported"]
                if imported == module or imported.startswith(module + ".")], outcome["imported"]
    assert outcome["imported"] == []


@pytest.mark.parametrize("payload", [
    "[" * 600 + "]" * 600,
    '{"a":' * 600 + "1" + "}" * 600,
    "[" * 100_000 + "]" * 100_000,
    json.dumps({"__gf__": "tuple", "items": [[[[[[[[[[[]]]]]]]]]]] * 30}).replace("[]", "[" * 250 + "]" * 250),
])
def test_payload_nesting_too_deep_is_a_data_conversion_error(conv, payload):
    with pytest.raises(errors.DataConversionError, match="nests deeper|not valid JSON"):
        conv.loads(payload)


def test_payload_nesting_within_the_limit_decodes(conv):
    assert conv.loads("[" * 200 + "]" * 200) is not None
    assert conv.loads(json.dumps([[1, 2]] * 1000)) == [[1, 2]] * 1000  # many brackets, shallow


@pytest.mark.parametrize("value", ["a\ud800b", "\udfff", ["x", {"k\udbff": "\ud800"}], "caf\u00e9 \U0001F600"])
def test_strings_with_lone_surrogates_become_valid_unicode_escapes(conv, value):
    text = conv.dumps(value)
    text.encode("utf-8")  # no lone surrogate left: SWF takes it
    assert conv.loads(text) == value


def test_payload_cannot_set_private_attributes(conv):
    payload = json.dumps({"__gf__": "exception", "type": "builtins:ValueError", "args": ["x"], "message": "x",
                          "attrs": {"__class__": "boom", "_private": 1, "ok": 2}})
    value = conv.loads(payload)
    assert type(value) is ValueError
    assert value.ok == 2
    assert not hasattr(value, "_private")


def test_payload_cannot_walk_dunder_attributes(conv):
    payload = json.dumps({"__gf__": "exception", "type": "builtins:ValueError.__class__", "args": [], "message": ""})
    assert isinstance(conv.loads(payload), RemoteException)


# --------------------------------------------------------------------------- exceptions


def _raise(exc):
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_builtin_exception_round_trip_with_traceback(conv):
    exc = _raise(ValueError("bad value", 3))
    back = conv.loads(conv.dumps(exc))
    assert type(back) is ValueError
    assert back.args == ("bad value", 3)
    assert "_raise" in back.remote_traceback


def test_application_exception_keeps_attributes(conv):
    back = conv.loads(conv.dumps(_raise(OrderError("no stock", (1, 2)))))
    assert type(back) is OrderError
    assert back.order_id == (1, 2)
    assert str(back) == str(OrderError("no stock", (1, 2)))


def test_exception_with_keyword_only_init(conv):
    back = conv.loads(conv.dumps(KeywordError("oops", code=7)))
    assert type(back) is KeywordError
    assert back.code == 7 and back.args == ("oops",)


def test_greenflow_errors_round_trip(conv):
    exc = errors.PayloadTooLargeError("input of activity A.b", 40000)
    back = conv.loads(conv.dumps(exc))
    assert type(back) is errors.PayloadTooLargeError
    assert (back.what, back.size, back.limit) == ("input of activity A.b", 40000, 32768)
    nested = errors.ActivityTaskFailedError("failed", reason="ValueError", cause=ValueError("x"),
                                            activity_id="1")
    back = conv.loads(conv.dumps(nested))
    assert isinstance(back.cause, ValueError) and back.activity_id == "1"
    assert back.__cause__ is back.cause


def test_unconvertible_exception_args_become_repr(conv):
    back = conv.loads(conv.dumps(ValueError(Dangerous)))
    assert type(back) is ValueError
    assert "Dangerous" in back.args[0]


def test_failure_round_trip():
    exc = _raise(OrderError("no stock", 42))
    reason, details = failure_from_exception(exc, DEFAULT_CONVERTER)
    assert reason == f"{__name__}.OrderError"
    back = exception_from_failure(reason, details, DEFAULT_CONVERTER)
    assert type(back) is OrderError and back.order_id == 42
    assert "no stock" in back.remote_traceback


def test_failure_reason_of_builtin_is_bare():
    assert failure_from_exception(KeyError("k"))[0] == "KeyError"


def test_failure_of_unknown_remote_class_falls_back():
    details = json.dumps({"__gf__": "exception", "type": "other.app:Boom", "args": ["m"], "message": "m",
                          "traceback": "Traceback ...\nother.app.Boom: m\n"})
    back = exception_from_failure("other.app.Boom", details)
    assert isinstance(back, RemoteException) and not isinstance(back, errors.GreenflowError)
    assert (back.reason, back.message) == ("other.app.Boom", "m")
    assert "Traceback" in back.traceback
    assert str(back) == "other.app.Boom: m"


def test_failure_from_foreign_client_details():
    back = exception_from_failure("SomeJavaError", "not json at all")
    assert isinstance(back, RemoteException)
    assert back.message == "not json at all"
    assert isinstance(exception_from_failure(None, None), RemoteException)


def test_remote_exception_reconverts_as_original_type():
    remote = RemoteException("other.app.Boom", "m", "tb", ("m",))
    reason, details = failure_from_exception(remote)
    again = exception_from_failure(reason, details)
    assert isinstance(again, RemoteException) and again.reason == "other.app.Boom"


def test_failure_details_always_fit():
    exc = _raise(ValueError("x" * 100000))
    reason, details = failure_from_exception(exc)
    assert len(details) <= 32768
    back = exception_from_failure(reason, details)
    assert type(back) is ValueError


def test_failure_reason_is_bounded():
    cls = type("E" * 300, (Exception,), {})
    reason, _ = failure_from_exception(cls())
    assert len(reason) == 256


def test_check_size():
    assert check_size("x" * 32768, "result of A.b") == "x" * 32768
    assert check_size(None, "x") is None
    with pytest.raises(errors.PayloadTooLargeError, match="result of A.b") as info:
        check_size("x" * 32769, "result of A.b")
    assert info.value.size == 32769


# --------------------------------------------------------------------------- pickle


def test_pickle_converter_round_trips_anything_picklable():
    conv = PickleConverter()
    value = {"p": Point(1, (2,)), "c": Color.RED, "s": {1}}
    assert conv.loads(conv.dumps(value)) == value
    assert conv.loads(None) is None


def test_pickle_converter_exceptions_keep_traceback():
    conv = PickleConverter()
    reason, details = failure_from_exception(_raise(OrderError("x", 1)), conv)
    back = exception_from_failure(reason, details, conv)
    assert type(back) is OrderError and "_raise" in back.remote_traceback


def test_pickle_converter_bad_payload():
    with pytest.raises(errors.DataConversionError):
        PickleConverter().loads("not base64 !!")
