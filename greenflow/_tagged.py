"""The tagged objects of JSON payloads: values JSON cannot express, written and read back.

:class:`~greenflow.converter.JSONConverter` keeps plain JSON plain and writes every other
supported value as a small object tagged ``{"__gf__": kind, ...}``. This module holds the
codecs of the plain Python types among them (tuples, bytes, sets and frozensets, datetimes,
dates, times, timedeltas, ``Decimal``, ``UUID``, non-finite floats, dicts with non-string
keys). The tags that name a class (dataclasses, enums, exceptions) are read by the converter
itself, because what they may build depends on its registrations.
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import uuid
from typing import Any, Callable, Protocol

from .errors import DataConversionError

#: The key that marks a JSON object as a tagged value.
TAG = "__gf__"
#: What :func:`encode_tagged` returns for a value it has no tag for.
NOT_TAGGED: Any = object()


class Decoding(Protocol):
    """What a tag's decoder needs of the converter: decoding nested JSON data."""

    def decode(self, data: Any) -> Any:
        """Turn plain JSON data back into values."""
        ...


def encode_tagged(value: Any, encode: Callable[[Any], Any]) -> Any:
    """The tagged object for ``value`` (nested values through ``encode``), or :data:`NOT_TAGGED`."""
    if isinstance(value, tuple):  # named tuples come back as plain tuples
        return {TAG: "tuple", "items": [encode(item) for item in value]}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {TAG: "bytes", "b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, frozenset):
        return {TAG: "frozenset", "items": [encode(item) for item in value]}
    if isinstance(value, set):
        return {TAG: "set", "items": [encode(item) for item in value]}
    if isinstance(value, _dt.datetime):
        encoded = {TAG: "datetime", "iso": value.isoformat()}
        zone = getattr(value.tzinfo, "key", None)  # zoneinfo.ZoneInfo keeps its zone name
        if isinstance(zone, str):
            encoded["zone"] = zone
        return encoded
    if isinstance(value, _dt.date):
        return {TAG: "date", "iso": value.isoformat()}
    if isinstance(value, _dt.time):
        return {TAG: "time", "iso": value.isoformat()}
    if isinstance(value, _dt.timedelta):
        return {TAG: "timedelta", "days": value.days, "seconds": value.seconds,
                "microseconds": value.microseconds}
    if isinstance(value, decimal.Decimal):
        return {TAG: "decimal", "value": str(value)}
    if isinstance(value, uuid.UUID):
        return {TAG: "uuid", "value": str(value)}
    return NOT_TAGGED


def items(converter: Decoding, data: dict) -> list:
    """The decoded ``items`` list of a tagged tuple, set or frozenset."""
    raw = data["items"]
    if not isinstance(raw, list):
        raise DataConversionError(f"malformed {data[TAG]!r} object in payload: items is not a list")
    return [converter.decode(item) for item in raw]


def _decode_float(self: Decoding, data: dict) -> float:
    value = data["value"]
    if value not in ("nan", "inf", "-inf"):
        raise DataConversionError(f"malformed float {value!r} in payload")
    return float(value)


def _decode_dict(self: Decoding, data: dict) -> dict:
    result = {}
    for pair in data["items"]:
        if not isinstance(pair, list) or len(pair) != 2:
            raise DataConversionError("malformed dict item in payload")
        key = self.decode(pair[0])
        try:
            result[key] = self.decode(pair[1])
        except TypeError as error:  # an unhashable key such as a list
            raise DataConversionError(f"payload has an unhashable dict key: {error}") from error
    return result


def _decode_datetime(self: Decoding, data: dict) -> _dt.datetime:
    value = _dt.datetime.fromisoformat(data["iso"])
    zone = data.get("zone")
    if isinstance(zone, str):
        try:
            import zoneinfo

            value = value.astimezone(zoneinfo.ZoneInfo(zone))
        except Exception:
            pass  # unknown zone here: keep the fixed offset, which is the same instant
    return value


def _hashable_items(self: Decoding, data: dict) -> list:
    members = items(self, data)
    try:
        hash(tuple(members))
    except TypeError as error:
        raise DataConversionError(f"payload has an unhashable set member: {error}") from error
    return members


#: Decoder of each plain-type tag: ``decoder(converter, tagged_object) -> value``.
DECODERS: dict[str, Callable[[Decoding, dict], Any]] = {
    "tuple": lambda self, data: tuple(items(self, data)),
    "set": lambda self, data: set(_hashable_items(self, data)),
    "frozenset": lambda self, data: frozenset(_hashable_items(self, data)),
    "bytes": lambda self, data: base64.b64decode(data["b64"], validate=True),
    "float": _decode_float,
    "dict": _decode_dict,
    "datetime": _decode_datetime,
    "date": lambda self, data: _dt.date.fromisoformat(data["iso"]),
    "time": lambda self, data: _dt.time.fromisoformat(data["iso"]),
    "timedelta": lambda self, data: _dt.timedelta(days=data["days"], seconds=data["seconds"],
                                                  microseconds=data["microseconds"]),
    "decimal": lambda self, data: decimal.Decimal(data["value"]),
    "uuid": lambda self, data: uuid.UUID(data["value"]),
}
