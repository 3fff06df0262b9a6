"""Task tokens: self-describing, unguessable, valid across restarts.

A token names its task (kind, domain, workflowId, runId, scheduled event ID) plus the
random nonce the engine stored in the execution's state when the task was handed out. The
engine accepts a token only while the stored task still has that nonce, so a guessed,
stale (timed out, completed, closed) or replayed token is refused, and tokens stay valid
after a restart because the nonce is durable.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from typing import NamedTuple

from ..wire._faults import unknown_resource
from ..wire._json import dumps as _dumps

DECISION = "d"
ACTIVITY = "a"


class TaskRef(NamedTuple):
    """What a task token names."""

    kind: str
    domain: str
    workflow_id: str
    run_id: str
    scheduled_id: int
    nonce: str


def new_nonce() -> str:
    """A fresh random nonce for a task handed to a worker."""
    return secrets.token_urlsafe(12)


def encode(ref: TaskRef) -> str:
    """The wire token of ``ref``."""
    raw = _dumps(ref).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(token: str, kind: str) -> TaskRef:
    """The task a token names; ``UnknownResourceFault`` if it is not one of ours of ``kind``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        kind_, domain, workflow_id, run_id, scheduled_id, nonce = json.loads(raw)
        ref = TaskRef(kind_, domain, workflow_id, run_id, int(scheduled_id), nonce)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise unknown_resource("Unknown task token") from None
    if ref.kind != kind or not all(isinstance(x, str) for x in (domain, workflow_id, run_id, nonce)):
        raise unknown_resource("Unknown task token")
    return ref
