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

#: Request header of ``RespondDecisionTaskCompleted``: a JSON object ``{"taskList": name,
#: "max": n, "identity": text}``. A greenflow service starts up to ``n`` activity tasks on
#: that task list for the caller (their ``ActivityTaskStarted`` events name ``identity``):
#: first those the decisions schedule, in the decisions' own transaction, then tasks
#: already waiting there, each in its own, and answers them in the member
#: :data:`EAGER_ACTIVITY_TASKS_MEMBER`, each shaped as a ``PollForActivityTask`` answer:
#: a worker that also runs activities skips a poll round trip per activity it scheduled
#: (Temporal calls this eager activity execution). A malformed value is ignored. Only a
#: client whose transport keeps unknown answer members may send it (botocore's parser would
#: drop the tasks, and they would wait for their start-to-close timeout).
EAGER_ACTIVITIES_HEADER = "x-greenflow-eager-activities"
EAGER_ACTIVITY_TASKS_MEMBER = "greenflowActivityTasks"
#: The most activity tasks one answer carries.
MAX_EAGER_ACTIVITIES = 100

#: Request header of ``StartWorkflowExecution``, ``RespondActivityTaskCompleted``/
#: ``Failed``/``Canceled`` and ``RespondDecisionTaskCompleted``: a JSON object
#: ``{"taskList": name, "identity": text}``. If the call leaves the run (the new one, for a
#: start) with a decision task scheduled on that task list, a greenflow service starts it
#: for the caller in the call's own transaction (its ``DecisionTaskStarted`` names
#: ``identity``) and answers it in the member :data:`EAGER_DECISION_TASK_MEMBER`, shaped as
#: a ``PollForDecisionTask`` answer with the history from the previous started decision on:
#: a program that also decides the workflow skips a poll round trip after the start and
#: after each activity. After a decision (events came while it was being made), that is
#: the deciding run's next task; when the run has none, the service then starts the next
#: decision task waiting on that task list, of any run of the domain, in its own
#: transaction as a poll would: a worker deciding its task list goes on with the next task
#: (fired timers, signals, closed children, timeouts) instead of polling. Never waited for:
#: with nothing waiting, the answer is the plain one. Same rules as the eager activity
#: tasks. (One header for all four calls: the same request, the same answer, taken by the
#: same worker code; which task follows is the operation's business.)
EAGER_DECISION_HEADER = "x-greenflow-eager-decision"
EAGER_DECISION_TASK_MEMBER = "greenflowDecisionTask"
