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

Layout (private modules, one job each): ``_http`` (the protocol on a gevent server),
``_sigv4`` (signature checks), ``_validation`` and ``_model`` (requests against
botocore's SWF model), ``_service`` (the core answering the operations: ``_registry``,
``_engine``, ``_visibility``), ``_store`` (SQLite), ``_clock`` (wall or virtual time),
``_server`` (:class:`LocalService`), ``_emulation`` (the AWS-like mode,
:class:`AWSEmulation`: latency, SWF's throttling, server errors).
"""

from ._clock import SystemClock, VirtualClock
from ._emulation import AWSEmulation
from ._lock import DatabaseInUseError, Owner, current_owner
from ._server import LocalService

__all__ = ["AWSEmulation", "DatabaseInUseError", "LocalService", "Owner", "SystemClock", "VirtualClock", "current_owner"]
