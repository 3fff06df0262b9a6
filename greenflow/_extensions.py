"""greenflow's extensions to the SWF wire protocol, shared by the local service and the client.

Amazon SWF never sees these: the client sends them only to an endpoint that named itself a
greenflow service (its ``x-greenflow-service`` answer header), and a greenflow service
ignores nothing it does not know: without the header, every call means what it means on
Amazon SWF.
"""

from __future__ import annotations

#: Request header of ``ListClosedWorkflowExecutions``: seconds (a decimal number, at most
#: :data:`MAX_CLOSE_WAIT`) the service may hold the call while no execution of the domain
#: closed *after* the request's ``closeTimeFilter.oldestDate``. The answer is then the
#: ordinary one. The client's result waiter uses it to be woken when executions close
#: instead of polling (``greenflow._result_waiter``).
CLOSE_WAIT_HEADER = "x-greenflow-wait-closed"

#: The longest a service holds a call for :data:`CLOSE_WAIT_HEADER` (like a long poll, well
#: under the client's 70 s read timeout).
MAX_CLOSE_WAIT = 60.0
