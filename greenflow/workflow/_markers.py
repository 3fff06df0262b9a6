"""Markers: ``side_effect()`` and ``version()``, values recorded once and read back on replay."""

from __future__ import annotations

from typing import Any, Callable

from greenflow._payload import encode_value
from greenflow.errors import NonDeterministicWorkflowError

from . import _commands as C
from ._guards import allow_unsafe_calls
from ._history import SIDE_EFFECT_MARKER, VERSION_MARKER
from ._hub import caller_location
from ._state import RunState, load_optional

#: What ``version()`` returns where history shows the code ran before the change existed.
DEFAULT_VERSION = -1


class Markers(RunState):
    """The marker commands of a run (``RecordMarker``), matched to ``MarkerRecorded`` events by name."""

    def side_effect(self, function: Callable[[], Any]) -> Any:
        """Return the recorded value of the next side effect, running ``function`` when live."""
        # Checked before anything else: ``function`` must never run outside a live decision
        # (an evicted run unwinding its ``finally:`` blocks, or a query).
        self._check_may_command()
        name = f"{SIDE_EFFECT_MARKER}{self.next_id()}"
        location = caller_location()
        if name in self.markers:
            details = self.markers[name]
        elif self.replaying:
            error = NonDeterministicWorkflowError(
                f"GF-NONDETERMINISM: side_effect() at {location} has no marker {name} in history "
                "(workflow code changed?)", command=f"RecordMarker {name} (at {location})")
            self.fatal(error)
            raise error
        else:
            with allow_unsafe_calls():  # recording the value is what makes it safe
                value = function()
            details = encode_value(self.converter, value, "side_effect result")
        self._add(C.RecordMarker(name, details, location))
        return load_optional(self.converter, details)

    def version(self, change_id: str, min_supported: int, max_supported: int) -> int:
        """Return this run's version of ``change_id``; see :func:`greenflow.workflow.version`."""
        if change_id in self.versions:
            value = self.versions[change_id]
        else:
            name = f"{VERSION_MARKER}{change_id}"
            if name in self.markers:
                value = int(str(self.markers[name]))
                if name not in self.skipped_markers:  # else its event has passed: nothing to match
                    self._add(C.RecordMarker(name, str(value), caller_location()))
            elif self.replaying:
                value = DEFAULT_VERSION
            else:
                value = max_supported
                self._add(C.RecordMarker(name, str(value), caller_location()))
            self.versions[change_id] = value
        if not min_supported <= value <= max_supported:
            error = NonDeterministicWorkflowError(
                f"GF-VERSION: this run took version {value} of change {change_id!r}, but the code supports only "
                f"{min_supported}..{max_supported} (keep the old branch until such runs have closed)",
                command=f"version({change_id!r}, {min_supported}, {max_supported})")
            self.fatal(error)
            raise error
        return value
