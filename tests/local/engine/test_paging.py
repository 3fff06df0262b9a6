"""History paging: GetWorkflowExecutionHistory and the pages of a decision task."""

from __future__ import annotations

from .harness import DOMAIN, complete


def run_with_signals(h, count):
    run_id = h.start("w1")
    for index in range(count):
        h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName=f"s{index}")
    return run_id


def all_pages(h, run_id, **params):
    pages, token = [], None
    while True:
        extra = {"nextPageToken": token} if token else {}
        answer = h("GetWorkflowExecutionHistory", domain=DOMAIN,
                   execution={"workflowId": "w1", "runId": run_id}, **params, **extra)
        pages.append([e["eventId"] for e in answer["events"]])
        token = answer.get("nextPageToken")
        if not token:
            return pages


def test_history_pages_forward_and_reverse(h):
    run_id = run_with_signals(h, 8)  # 10 events
    assert all_pages(h, run_id, maximumPageSize=4) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    assert all_pages(h, run_id, maximumPageSize=4, reverseOrder=True) == [[10, 9, 8, 7], [6, 5, 4, 3], [2, 1]]
    assert all_pages(h, run_id, maximumPageSize=5) == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    assert all_pages(h, run_id) == [list(range(1, 11))]


def test_history_pages_of_a_closed_run(h):
    run_id = run_with_signals(h, 3)
    h.decide(complete())
    assert all_pages(h, run_id, maximumPageSize=3) == [[1, 2, 3], [4, 5, 6], [7, 8]]
    assert all_pages(h, run_id, maximumPageSize=3, reverseOrder=True) == [[8, 7, 6], [5, 4, 3], [2, 1]]


def test_tampered_or_foreign_history_token(h):
    run_id = run_with_signals(h, 8)
    other = h.start("w2")
    first = h("GetWorkflowExecutionHistory", domain=DOMAIN, execution={"workflowId": "w1", "runId": run_id},
              maximumPageSize=2)
    token = first["nextPageToken"]
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "nonsense", "a.b"):
        fault = h.fault("GetWorkflowExecutionHistory", domain=DOMAIN,
                        execution={"workflowId": "w1", "runId": run_id}, nextPageToken=bad)
        assert fault.code == "ValidationException"
    fault = h.fault("GetWorkflowExecutionHistory", domain=DOMAIN, execution={"workflowId": "w2", "runId": other},
                    nextPageToken=token)
    assert fault.code == "ValidationException"


def test_decision_task_pages_come_from_poll(h):
    run_id = run_with_signals(h, 6)  # events 1..8, then DecisionTaskStarted = 9
    first = h.decision_task(maximumPageSize=4)
    assert [e["eventId"] for e in first["events"]] == [1, 2, 3, 4]
    token = first["nextPageToken"]
    second = h.decision_task(maximumPageSize=4, nextPageToken=token)
    assert second["taskToken"] == first["taskToken"] and second["startedEventId"] == 9
    assert [e["eventId"] for e in second["events"]] == [5, 6, 7, 8]
    # Events recorded after the task started do not belong to the task.
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="late")
    third = h.decision_task(maximumPageSize=4, nextPageToken=second["nextPageToken"])
    assert [e["eventId"] for e in third["events"]] == [9] and "nextPageToken" not in third
    # Paging did not hand out another task.
    assert h.describe("w1", run_id)["openCounts"]["openDecisionTasks"] == 1
    h("RespondDecisionTaskCompleted", taskToken=first["taskToken"], decisions=[])
    assert h.fault("PollForDecisionTask", domain=DOMAIN, taskList={"name": "deciders"},
                   nextPageToken="bogus").code == "ValidationException"


def test_decision_task_reverse_and_start_at_previous(h):
    h.start("w1")
    first = h.decision_task(reverseOrder=True)
    assert [e["eventId"] for e in first["events"]] == [3, 2, 1]
    assert first["previousStartedEventId"] == 0
    h("RespondDecisionTaskCompleted", taskToken=first["taskToken"], decisions=[])
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="s")
    second = h.decision_task(startAtPreviousStartedEvent=True)
    assert second["previousStartedEventId"] == 3
    assert [e["eventType"] for e in second["events"]] == [
        "DecisionTaskStarted", "DecisionTaskCompleted", "WorkflowExecutionSignaled", "DecisionTaskScheduled",
        "DecisionTaskStarted"]


def test_page_tokens_expire_after_a_day(h):
    run_id = run_with_signals(h, 3)
    page = h("GetWorkflowExecutionHistory", domain=DOMAIN, execution={"workflowId": "w1", "runId": run_id},
             maximumPageSize=2)
    task = h.decision_task(maximumPageSize=2)
    h.advance(86400)
    assert h("GetWorkflowExecutionHistory", domain=DOMAIN, execution={"workflowId": "w1", "runId": run_id},
             maximumPageSize=2, nextPageToken=page["nextPageToken"])["events"]
    h.advance(1)
    fault = h.fault("GetWorkflowExecutionHistory", domain=DOMAIN, execution={"workflowId": "w1", "runId": run_id},
                    maximumPageSize=2, nextPageToken=page["nextPageToken"])
    assert fault.code == "ValidationException" and "lifetime" in fault.message
    fault = h.fault("PollForDecisionTask", domain=DOMAIN, taskList={"name": "deciders"}, maximumPageSize=2,
                    nextPageToken=task["nextPageToken"])
    assert fault.code == "ValidationException"
