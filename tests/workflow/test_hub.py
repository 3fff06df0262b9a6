"""The deterministic hub: FIFO order, blocking detection, eviction of cached runs."""

from __future__ import annotations

import time

import gevent
import gevent.event
import pytest

import greenflow.workflow as wf
from greenflow import errors

from .history import History, Sim, attrs, kinds
from .workflows import Acts


def in_real_thread(function):
    """Run ``function`` in a real OS thread (tests/conftest.py monkey-patches threading)."""
    from gevent import monkey

    start_new_thread = monkey.get_original("_thread", "start_new_thread")
    lock = monkey.get_original("_thread", "allocate_lock")()
    out = []
    lock.acquire()

    def target():
        try:
            out.append(function())
        except BaseException as error:  # noqa: BLE001
            out.append(error)
        finally:
            lock.release()

    start_new_thread(target, ())
    assert lock.acquire(timeout=10)
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


def decide_once(cls, *wf_args, decider=None):
    decider = decider or wf.Decider([cls])
    history = History(cls.__name__, "1.0", *wf_args)
    return Sim(decider, history).step(), history, decider


def test_waiters_resume_in_fifo_order():
    order = []

    class F(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            timer = wf.start_timer(1)

            def waiter(name):
                timer.result()
                order.append(name)

            futures = [wf.spawn(waiter, n) for n in "abcde"]
            wf.wait_all(futures)
            return order

    result, history, decider = decide_once(F)
    history.fire_timer("1")
    Sim(decider, history).step()
    assert order == list("abcde")


def test_done_callbacks_and_exception():
    class F(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            seen = []
            f = wf.spawn(lambda: 1 / 0)
            f.add_done_callback(lambda fut: seen.append(fut.done()))
            exc = f.exception()
            f.add_done_callback(lambda fut: seen.append("late"))
            return [type(exc).__name__, seen, f.done(), f.cancel()]

    result, _, _ = decide_once(F)
    from greenflow.converter import DEFAULT_CONVERTER

    assert DEFAULT_CONVERTER.loads(attrs(result.decisions[0])["result"]) == [
        "ZeroDivisionError", [True, "late"], True, False]


def test_spawned_greenlets_inherit_activity_options():
    class F(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            with wf.activity_options(task_list="inherited"):
                f = wf.spawn(Acts.add, 1, 1)
            g = wf.spawn(Acts.add, 2, 2)
            return wf.wait_all(f, g)

    result, _, _ = decide_once(F)
    assert [attrs(d)["taskList"]["name"] for d in result.decisions] == ["inherited", "acts"]


def test_repeated_runs_make_identical_commands():
    class Busy(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            def worker(i):
                if wf.random() < 0.5:
                    wf.sleep(i)
                return Acts.add(i, len(str(wf.uuid4())))

            return wf.wait_all([wf.spawn(worker, i) for i in range(20)])

    first = decide_once(Busy)[0]
    second = decide_once(Busy)[0]
    assert first == second and len(first.decisions) == 20


# --------------------------------------------------------------------------- blocking detection


def test_gevent_sleep_in_workflow_is_detected_not_hung():
    class Blocks(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            gevent.sleep(0.01)

    with pytest.raises(errors.WorkflowBlockingError, match=r"GF-BLOCKING.*gevent.*test_hub.py"):
        decide_once(Blocks)


def test_monkey_patched_time_sleep_is_detected_even_if_swallowed():
    class Swallows(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                time.sleep(0.01)  # monkey-patched by tests/conftest.py
            except Exception:  # noqa: BLE001
                pass
            return "pretends all is well"

    decider = wf.Decider([Swallows])
    with pytest.raises(errors.WorkflowBlockingError):
        decide_once(Swallows, decider=decider)
    assert len(decider) == 0


def test_waiting_on_gevent_event_is_detected():
    event = gevent.event.Event()

    class Waits(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            event.wait()

    with pytest.raises(errors.WorkflowBlockingError, match="wait"):
        decide_once(Waits)


def test_decider_works_inside_a_gevent_greenlet():
    class Seq(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            return Acts.add(1, 1)

    result = gevent.spawn(decide_once, Seq).get(timeout=10)[0]
    assert kinds(result) == ["ScheduleActivityTask"]


def test_decider_in_a_thread():
    class Seq(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            return Acts.add(1, 1)

    out = in_real_thread(lambda: decide_once(Seq)[0])
    assert kinds(out) == ["ScheduleActivityTask"]


# --------------------------------------------------------------------------- eviction


def test_eviction_unwinds_greenlets_past_except_exception():
    log = []

    class Stubborn(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.spawn(self.helper)
            try:
                wf.sleep(100)
            except Exception:  # noqa: BLE001 - must not catch the eviction
                log.append("swallowed")
            finally:
                log.append("main finally")
                Acts.add(0, 0)  # a workflow call while unwinding is refused, not hung
            log.append("after")

        def helper(self):
            try:
                wf.wait_until(lambda: False)
            finally:
                log.append("helper finally")

    _, history, decider = decide_once(Stubborn)
    run = decider.cached_run("wf-1", "run-1")
    greenlets = list(run.hub.live)
    assert len(greenlets) == 2
    decider.clear()
    assert sorted(log) == ["helper finally", "main finally"]
    assert all(g.dead for g in greenlets)


def test_run_is_dropped_after_closing_decision():
    class Quick(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.spawn(wf.sleep, 100)
            return 1

    result, _, decider = decide_once(Quick)
    assert kinds(result) == ["StartTimer", "CompleteWorkflowExecution"]
    assert len(decider) == 0


def test_workflow_api_in_query_cannot_make_commands():
    class Q(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.sleep(1)

        @wf.query()
        def sneaky(self):
            wf.start_timer(1)

        @wf.query()
        def when(self):
            return wf.now().year

    _, history, decider = decide_once(Q)
    with pytest.raises(errors.WorkflowError, match="must not make commands"):
        decider.query(history.events, "sneaky")
    assert decider.query(history.events, "when") == 2023


def test_cached_run_used_from_another_thread_falls_back_to_full_replay():
    decider = wf.Decider([Signals2])
    history = History("Signals2", "1.0")
    Sim(decider, history).step()
    history.signal("go")
    out = in_real_thread(lambda: Sim(decider, history).step())
    assert kinds(out) == ["CompleteWorkflowExecution"]
    assert decider.stats["full_replays"] == 2


def test_wait_until_predicate_error_is_raised_in_the_waiter():
    class P(wf.WorkflowDefinition):
        ready = ""

        @wf.execute(version="1.0")
        def run(self):
            try:
                wf.wait_until(lambda: self.ready.upper() == "X")
            except AttributeError:
                return "predicate failed"

        @wf.signal()
        def go(self):
            self.ready = 5  # makes the predicate raise

    _, history, decider = decide_once(P)
    history.signal("go")
    assert kinds(Sim(decider, history).step()) == ["CompleteWorkflowExecution"]


class Signals2(wf.WorkflowDefinition):
    done = False

    @wf.execute(version="1.0")
    def run(self):
        wf.wait_until(lambda: self.done)

    @wf.signal()
    def go(self):
        self.done = True


def test_failing_done_callback_is_logged_not_fatal(caplog):
    class F(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            f = wf.spawn(lambda: 1)
            f.add_done_callback(lambda fut: 1 / 0)
            return f.result()

    result, _, _ = decide_once(F)
    assert kinds(result) == ["CompleteWorkflowExecution"]
    assert "done callback" in caplog.text
