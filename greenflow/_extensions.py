"""greenflow's extensions to the SWF wire protocol, shared by the local service and the client.

Amazon SWF never sees these: the client sends them only to an endpoint that named itself a
greenflow service (its ``x-greenflow-service`` answer header), and a greenflow service
ignores nothing it does not know: without the header, every call means what it means on
Amazon SWF.
"""

from __future__ import annotations

#: Response header by which a greenflow local service names itself (``local/<version>``);
#: Amazon SWF never sends it. Clients read it to know they may use the extensions below
#: (and that a poll they abandon is cancelled there rather than handed a task).
SERVICE_HEADER = "x-greenflow-service"

#: The local service's one extra operation, read-only: ``X-Amz-Target`` of
#: ``DescribeTaskLists`` (members ``domain``; answer ``taskLists``: ``kind``, ``name``,
#: ``backlog``, ``waitingPollers``), which tells what SWF cannot: the long polls waiting on
#: each task list. Clients call it only on an endpoint that sent :data:`SERVICE_HEADER`.
LOCAL_EXTENSION_TARGET = "GreenflowLocal.DescribeTaskLists"

#: Request header of ``ListClosedWorkflowExecutions``: ``"<seconds> <count>"``. The service
#: may hold the call up to ``seconds`` (a decimal number, at most :data:`MAX_CLOSE_WAIT`)
#: while at most ``count`` executions of the domain closed at or after the request's
#: ``closeTimeFilter.oldestDate``; the answer is then the ordinary one. The client's result
#: waiter sends the number of such closes it has already listed, so that it is woken when
#: another execution closes instead of polling (``greenflow._result_waiter``).
CLOSE_WAIT_HEADER = "x-greenflow-wait-closed"

#: The longest a service holds a call for :data:`CLOSE_WAIT_HEADER` (like a long poll, well
#: under the client's 70 s read timeout).
MAX_CLOSE_WAIT = 60.0

#: Request header of ``ListClosedWorkflowExecutions`` (any value): a greenflow service then
#: adds to each listed execution's ``executionInfo`` the member :data:`CLOSE_EVENT_MEMBER`,
#: the run's closing history event as ``GetWorkflowExecutionHistory`` answers it, so that the
#: result waiter learns a result in the listing that told it the run closed, without one
#: more call per workflow. botocore's parser drops the member (it is not in SWF's model);
#: the waiter then reads the event from the history, as it must on Amazon SWF.
CLOSE_EVENTS_HEADER = "x-greenflow-close-events"
CLOSE_EVENT_MEMBER = "greenflowCloseEvent"
