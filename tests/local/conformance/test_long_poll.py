"""Long polls: empty answers after the poll timeout, waiting pollers woken by new work,
and many concurrent pollers on one task list (gevent greenlets: the suite is monkey-patched)."""

from __future__ import annotations

import gevent


def test_empty_decision_poll_returns_an_empty_task(swf):
    task = swf.client.poll_for_decision_task(domain=swf.domain, taskList={"name": swf.task_list})
    assert task["taskToken"] == ""
    assert task.get("events", []) == []


def test_empty_activity_poll_returns_an_empty_task(swf):
    assert swf.client.poll_for_activity_task(domain=swf.domain,
                                             taskList={"name": swf.activity_list})["taskToken"] == ""


def test_waiting_decision_poller_is_woken_by_start(slow_swf):
    swf = slow_swf
    poller = gevent.spawn(swf.poll_decision)
    gevent.sleep(0.3)  # let the poll reach the service (not a timing assertion)
    assert not poller.ready()
    execution = swf.start()
    task = poller.get(timeout=10)  # far below the 30 s poll timeout
    assert task["taskToken"]
    assert task["workflowExecution"] == execution


def test_waiting_activity_poller_is_woken_by_schedule(slow_swf):
    swf = slow_swf
    execution = swf.start()
    decision = swf.decision_task(execution)
    poller = gevent.spawn(swf.poll_activity)
    gevent.sleep(0.3)
    assert not poller.ready()
    swf.respond(decision, [swf.schedule("a1")])
    task = poller.get(timeout=10)
    assert task["activityId"] == "a1"


def test_waiting_decision_poller_is_woken_by_signal(slow_swf):
    swf = slow_swf
    execution = swf.start()
    swf.decide(execution)
    poller = gevent.spawn(swf.poll_decision)
    gevent.sleep(0.3)
    assert not poller.ready()
    swf.signal(execution)
    assert poller.get(timeout=10)["workflowExecution"] == execution


def test_waiting_decision_poller_is_woken_by_a_timer(slow_swf):
    swf = slow_swf
    execution = swf.start()
    swf.decide(execution, [swf.timer("t1", 5)])
    poller = gevent.spawn(swf.poll_decision)
    gevent.sleep(0.3)
    swf.advance(5)
    assert poller.get(timeout=10)["workflowExecution"] == execution


def test_one_task_goes_to_one_of_many_waiting_pollers(slow_swf):
    swf = slow_swf
    pollers = [gevent.spawn(swf.poll_decision) for _ in range(5)]
    gevent.sleep(0.3)
    swf.start()
    winner = gevent.wait(pollers, timeout=10, count=1)
    assert len(winner) == 1 and winner[0].get()["taskToken"]
    gevent.sleep(0.3)
    assert sum(1 for p in pollers if p.ready()) == 1, "one task was given to several pollers"
    swf.service.stop()  # stopping wakes the others with empty answers
    results = [p.get(timeout=10) for p in pollers]
    assert sum(1 for r in results if r.get("taskToken")) == 1


def test_stop_wakes_waiting_pollers(slow_swf):
    swf = slow_swf
    poller = gevent.spawn(swf.poll_decision)
    gevent.sleep(0.3)
    swf.service.stop()
    try:
        result = poller.get(timeout=10)
    except Exception:  # a closed connection is an acceptable answer to a stopping service
        return
    assert result["taskToken"] == ""


def test_two_hundred_concurrent_pollers_all_return(swf):
    # One connection per poller: botocore's pool would otherwise queue them.
    many = swf.make_client(max_pool_connections=220)

    def poll():
        return many.poll_for_decision_task(domain=swf.domain, taskList={"name": swf.task_list})

    pollers = [gevent.spawn(poll) for _ in range(200)]
    gevent.sleep(0.1)
    runs = {swf.start()["runId"] for _ in range(5)}
    done = gevent.joinall(pollers, timeout=60)
    assert len(done) == 200, f"{200 - len(done)} pollers never returned"
    failures = [p.exception for p in pollers if p.exception is not None]
    assert not failures, failures[:3]
    answers = [p.value for p in pollers]
    tokens = [a["taskToken"] for a in answers if a["taskToken"]]
    assert len(tokens) == len(set(tokens)), "one task given to two pollers"
    got = {a["workflowExecution"]["runId"] for a in answers if a["taskToken"]}
    assert got <= runs
    # Every task went to exactly one poller, or is still pending.
    assert len(got) == len(tokens)
    assert len(got) + swf.pending_decisions() == 5


def test_pollers_only_get_tasks_of_their_domain_and_task_list(swf, client):
    client.register_domain(name=swf.domain + "-other", workflowExecutionRetentionPeriodInDays="1")
    wrong_list = gevent.spawn(swf.poll_decision, "another-list")
    wrong_domain = gevent.spawn(client.poll_for_decision_task, domain=swf.domain + "-other",
                                taskList={"name": swf.task_list})
    gevent.sleep(0.1)
    execution = swf.start()
    assert wrong_list.get(timeout=20)["taskToken"] == ""
    assert wrong_domain.get(timeout=20)["taskToken"] == ""
    assert swf.decision_task()["workflowExecution"] == execution
