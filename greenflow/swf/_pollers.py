"""Waiting pollers per task list, from a greenflow local service (SWF's API cannot tell them).

The local service answers one read-only extension call (``LOCAL_EXTENSION_TARGET`` in
:mod:`greenflow._extensions`); it is sent only to an endpoint that named itself a greenflow
service, signed by the SWF client's own request signer (so a ``--credentials`` service
accepts it), and its failure is returned as ``Pollers.problem``, never raised. The console's
task-list page and ``greenflow describe`` both read it.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
from typing import Any

from botocore.awsrequest import AWSRequest

from greenflow._extensions import LOCAL_EXTENSION_TARGET

__all__ = ["Pollers", "waiting_pollers"]


@dataclasses.dataclass
class Pollers:
    """What the service said: ``{(task list, kind): waiting long polls}``, or why it said nothing."""

    waiting: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)
    problem: str = ""


def waiting_pollers(swf: Any, domain: str, timeout: float = 10.0) -> Pollers:
    """Ask the endpoint behind ``swf`` (an :class:`~greenflow.swf.SWFClient`) for its waiting pollers."""
    if not swf.greenflow_service:
        return Pollers(problem="Waiting pollers are shown for a greenflow local service only: "
                               "SWF's API has no call that lists them.")
    body = json.dumps({"domain": domain}).encode()
    request = AWSRequest(method="POST", url=swf.endpoint.rstrip("/") + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": LOCAL_EXTENSION_TARGET})
    # botocore's signer for this client (SigV4 with its credentials, or nothing when the
    # client is unsigned): the same signature as the client's SWF calls.
    swf.botocore._request_signer.sign("DescribeTaskLists", request)
    prepared = request.prepare()
    try:
        with urllib.request.urlopen(urllib.request.Request(
                prepared.url, data=body, headers=dict(prepared.headers), method="POST"), timeout=timeout) as answer:
            rows = json.loads(answer.read()).get("taskLists") or []
    except (urllib.error.URLError, OSError, ValueError) as error:
        return Pollers(problem=f"The service did not tell its waiting pollers: {error}")
    return Pollers({(str(row["name"]), str(row["kind"])): int(row["waitingPollers"]) for row in rows})
