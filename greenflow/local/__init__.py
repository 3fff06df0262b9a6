"""The local SWF service: Amazon SWF's API on one machine, durable in SQLite.

greenflow's default backend. It speaks SWF's JSON 1.0 protocol, so botocore's ``swf``
client (and ``aws swf ... --endpoint-url``) works against it unchanged, and it answers
all 39 operations with SWF's semantics, faults and limits.

Run it in-process (tests, the embedded default)::

    from greenflow.local import LocalService, VirtualClock

    with LocalService(clock=VirtualClock()) as service:
        ...  # point a botocore client at service.endpoint
        service.advance_time(60)  # fire timers and timeouts due in the next minute

or as a command: ``greenflow server --port 8080 --db swf.db``.

Layout (private; a request travels down this list):

* ``_local_service`` – :class:`LocalService`: runs everything below on its own hub thread
  (or in the foreground for ``greenflow server``);
* ``wire/`` – the edge: HTTP, connection limits, SigV4, JSON, faults, the botocore model,
  validation, value rules, page tokens, and the AWS-like mode (``_emulation``,
  :class:`AWSEmulation`: latency, SWF's throttling quotas and server errors on every call);
* ``_operations`` – :class:`~._operations.Operations`, the core answering all 39 operations
  by handing each to one of three parts:

  * ``_registry`` – domains, types, tags;
  * ``engine/`` – executions, history, tasks, timers, timeouts, long polls;
  * ``_visibility`` – listing and counting executions;

* ``storage/`` – the SQLite store, idle WAL checkpoints, the one-service-per-file lock;
* ``_clock`` – wall or virtual time; ``_waiting`` – the hooks a long poll calls before it
  blocks (so the edge watches its connection only then) and before it takes a task (is
  its client still there?).
"""

from ._clock import SystemClock, VirtualClock
from ._local_service import LocalService
from .storage._lock import DatabaseInUseError, Owner, current_owner
from .wire._emulation import AWSEmulation

__all__ = [
    "AWSEmulation", "DatabaseInUseError", "LocalService", "Owner", "SystemClock", "VirtualClock", "current_owner",
]
