"""The console as a person uses it, in a real headless Chromium (see conftest.py)."""

from __future__ import annotations

import gevent.event
from playwright.sync_api import expect

from greenflow._swf_rules import event_attributes
from greenflow.console import Console
from greenflow.workflow import workflow_type_of

from . import console_app
from .console_app import ApprovalWorkflow


def _row(page, kind: str, title: str):
    return page.locator(f"#timeline tr[data-kind='{kind}']", has_text=title)


def test_watch_an_execution_run_then_signal_it_from_the_page(app_env, console, page, shots):
    gates = {index: gevent.event.Event() for index in range(2)}
    console_app.GATES.update(gates)
    page.goto(console.url)
    expect(page.locator("#domains")).to_contain_text(app_env.domain)
    shots("domains")
    page.click(f"text={app_env.domain}")
    expect(page.locator("#executions-live .empty")).to_be_visible()

    # Started elsewhere: it appears in the open list without a reload.
    handle = app_env.client().start(ApprovalWorkflow.run, 2, workflow_id="order-1", tags=["vip"])
    expect(page.locator("#executions")).to_contain_text("order-1")
    expect(page.locator("#tab-open .count")).to_have_text("1")
    shots("executions")
    page.click("text=order-1")

    # The first activity runs; the timeline and the waiting list say so.
    expect(page.locator("#workflow-id")).to_have_text("order-1")
    expect(page.locator("#status")).to_have_text("open")
    expect(_row(page, "activity", "Steps.step")).to_have_count(1)
    expect(_row(page, "activity", "Steps.step").first).to_have_attribute("data-state", "started")
    expect(page.locator("#pending-activities")).to_contain_text("Steps.step")
    expect(page.locator("#stack-trace")).to_be_visible()
    shots("execution-first-step")

    # Step 0 completes, step 1 starts: the page follows without a reload.
    gates[0].set()
    expect(_row(page, "activity", "Steps.step")).to_have_count(2)
    expect(_row(page, "activity", "Steps.step").first).to_have_attribute("data-state", "completed")
    expect(_row(page, "activity", "Steps.step").first).to_contain_text("step 0 done")
    gates[1].set()
    expect(_row(page, "activity", "Steps.step").nth(1)).to_have_attribute("data-state", "completed")
    expect(page.locator("#pending-activities")).to_have_count(0)
    shots("execution-waiting-for-signal")

    # Signal from the page (a confirmation, accepted), then the run finishes.
    page.fill("#signal-name", "approve")
    page.fill("#signal-input", '["alice"]')
    page.click("#signal-button")
    expect(page.locator("#action-result")).to_contain_text("Signal 'approve' sent")
    expect(page.locator("#status")).to_have_text("completed")
    expect(_row(page, "signal", "signal approve")).to_contain_text("alice")
    expect(_row(page, "child", "Greeter 1.0")).to_have_attribute("data-state", "completed")
    expect(page.locator("#outcome")).to_contain_text("'approved_by': 'alice'")
    expect(page.locator("#outcome")).to_contain_text("hello alice")
    shots("execution-completed")

    assert handle.result(timeout=10)["approved_by"] == "alice"
    signaled = [event for event in handle.history() if event["eventType"] == "WorkflowExecutionSignaled"]
    assert [event_attributes(event)["signalName"] for event in signaled] == ["approve"]

    # The child's own page, reached from the parent's, links back.
    page.locator("#children a").click()
    expect(page.locator("#parent-link")).to_have_text("order-1")
    expect(page.locator("#outcome")).to_contain_text("hello alice")
    shots("child-execution")

    # Closed now: found under "closed" with the status filter.
    page.goto(console.url + f"domains/{app_env.domain}/?state=closed&status=COMPLETED")
    expect(page.locator("#executions")).to_contain_text("order-1")
    expect(page.locator("#executions")).to_contain_text("completed")
    shots("closed-executions")


def test_cancel_from_the_page(app_env, console, page, shots):
    handle = app_env.client().start(ApprovalWorkflow.run, 0, workflow_id="order-2")
    page.goto(console.url + f"domains/{app_env.domain}/execution?workflow_id=order-2")  # the newest run
    expect(page.locator("#status")).to_have_text("open")
    page.click("#cancel-button")
    expect(page.locator("#action-result")).to_contain_text("Cancellation requested")
    expect(page.locator("#status")).to_have_text("canceled")
    expect(_row(page, "signal", "cancel requested")).to_have_count(1)
    expect(page.locator("#actions")).to_have_count(0)  # nothing to act on once closed
    shots("canceled")
    kinds = [event["eventType"] for event in handle.history()]
    assert kinds[-3:] == ["DecisionTaskStarted", "DecisionTaskCompleted", "WorkflowExecutionCanceled"]
    assert "WorkflowExecutionCancelRequested" in kinds


def test_start_and_terminate_from_the_page(app_env, console, page, shots):
    console_app.GATES[0] = gevent.event.Event()
    app_env.client().start(ApprovalWorkflow.run, 0, workflow_id="warm-up")  # registers the types
    page.goto(console.url + f"domains/{app_env.domain}/start")
    expect(page.locator("#start-type option")).to_have_count(2)
    page.select_option("#start-type", "ApprovalWorkflow:1.0")
    page.fill("#start-id", "order-3")
    page.fill("#start-input", "[1]")
    page.fill("#start-tags", "from-console, test")
    shots("start-form")
    page.click("#start-button")
    expect(page.locator("#workflow-id")).to_have_text("order-3")
    expect(_row(page, "activity", "Steps.step")).to_have_attribute("data-state", "started")
    page.fill("#terminate-reason", "changed my mind")
    page.click("#terminate-button")
    expect(page.locator("#status")).to_have_text("terminated")
    expect(page.locator("#outcome")).to_contain_text("changed my mind")
    shots("terminated")
    info = app_env.client().get_handle("order-3").describe()["executionInfo"]
    assert info["closeStatus"] == "TERMINATED" and info["tagList"] == ["from-console", "test"]


def test_task_lists_show_the_backlog(env, console, page, shots):
    # No worker polls, so the started executions' decision tasks wait in the backlog.
    env.swf.ensure_workflow_type(env.domain, workflow_type_of(ApprovalWorkflow.run), task_list=env.task_list)
    for number in range(3):
        env.client().start(ApprovalWorkflow.run, 0, workflow_id=f"queued-{number}")
    page.goto(console.url + f"domains/{env.domain}/task-lists?names=spare-list")
    row = page.locator("#task-lists tr", has_text=env.task_list).filter(has_text="decision")
    expect(row.locator(".backlog")).to_have_text("3")
    expect(row).to_contain_text("ApprovalWorkflow 1.0")  # found as the type's default task list
    spare = page.locator("#task-lists tr", has_text="spare-list").filter(has_text="activity")
    expect(spare.locator(".backlog")).to_have_text("0")
    expect(page.locator(".hint")).to_contain_text("Waiting pollers are not shown")
    shots("task-lists")


def test_bad_input_gets_a_clear_message(app_env, console, page, shots):
    app_env.client().start(ApprovalWorkflow.run, 0, workflow_id="order-4")
    page.goto(console.url + f"domains/{app_env.domain}/execution?workflow_id=order-4")
    page.fill("#signal-name", "approve")
    page.fill("#signal-input", "{not json")
    page.click("#signal-button")
    expect(page.locator("#action-result")).to_contain_text("input: not JSON")
    page.goto(console.url + f"domains/{app_env.domain}/?state=open&status=FAILED")
    expect(page.locator("#filter-error")).to_contain_text("close status filters closed executions")
    shots("filter-error")
    page.goto(console.url + f"domains/{app_env.domain}/execution?workflow_id=no-such-id")
    expect(page.locator("#problem")).to_contain_text("no execution with workflow ID 'no-such-id'")


def test_paging_through_executions(env, console, page, shots):
    env.swf.ensure_workflow_type(env.domain, workflow_type_of(ApprovalWorkflow.run), task_list=env.task_list)
    client = env.client()
    for number in range(250):
        client.start(ApprovalWorkflow.run, 0, workflow_id=f"bulk-{number:04d}", tags=["odd" if number % 2 else "even"])
    page.goto(console.url + f"domains/{env.domain}/?size=100")
    expect(page.locator("#tab-open .count")).to_have_text("250")
    expect(page.locator("#executions tbody tr")).to_have_count(100)
    expect(page.locator("#executions tbody tr").first).to_contain_text("bulk-0249")  # newest first
    page.click("#next-page")
    expect(page.locator("#page-number")).to_have_text("page 2")
    expect(page.locator("#executions tbody tr")).to_have_count(100)
    page.click("#next-page")
    expect(page.locator("#executions tbody tr")).to_have_count(50)
    expect(page.locator("#executions tbody tr").last).to_contain_text("bulk-0000")
    expect(page.locator("#next-page")).to_have_count(0)
    # One filter at a time, as SWF allows: the tag, then the exact workflow ID.
    page.goto(console.url + f"domains/{env.domain}/?tag=odd&size=1000")
    expect(page.locator("#tab-open .count")).to_have_text("125")
    page.fill("input[name=tag]", "")
    page.fill("input[name=id]", "bulk-0042")
    page.click("button[type=submit]")
    expect(page.locator("#executions tbody tr")).to_have_count(1)
    shots("filtered")


def test_stack_trace_says_when_the_workflow_code_is_not_importable(env, page, shots):
    env.swf.ensure_workflow_type(env.domain, workflow_type_of(ApprovalWorkflow.run), task_list=env.task_list)
    env.client().start(ApprovalWorkflow.run, 0, workflow_id="elsewhere")
    with Console(env.swf) as console:  # no workflow code loaded
        page.goto(console.url + f"domains/{env.domain}/execution?workflow_id=elsewhere")
        expect(page.locator("#stack-problem")).to_contain_text(
            "The code of workflow type ApprovalWorkflow 1.0 is not importable in this console")
        expect(page.locator("#stack-problem")).to_contain_text("--workflows MODULE")
        shots("not-importable")
