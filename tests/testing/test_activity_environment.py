"""``ActivityEnvironment``: an activity's heartbeats and cancellation, tested without a service."""

from __future__ import annotations

import gevent
import pytest

from greenflow import errors
from greenflow.activity import activities, activity, context, heartbeat
from greenflow.testing import ActivityEnvironment


@activities(start_to_close_timeout=60, heartbeat_timeout=10)
class Downloads:
    @activity(version="2")
    def fetch(self, chunks):
        for chunk in range(1, chunks + 1):
            heartbeat(chunk)
            gevent.sleep(0.001)
        return {"chunks": chunks, "by": context().activity_type}

    @activity(version="2")
    def cleans_up(self, log):
        try:
            while True:
                heartbeat()
                gevent.sleep(0.001)
        except errors.CancelledError:
            log.append("cleaned up")
            raise

    @activity(version="2")
    def returns(self, value):
        return value

    @activity(version="2")
    def big_heartbeat(self):
        heartbeat("x" * 5000)


def test_runs_the_activity_and_records_its_heartbeats():
    env = ActivityEnvironment(workflow_id="wf-1")
    assert env.run(Downloads().fetch, 3) == {"chunks": 3, "by": ("Downloads.fetch", "2")}
    assert env.heartbeats == [1, 2, 3]
    assert env.context.workflow_id == "wf-1" and not env.cancelled


def test_cancel_makes_the_next_heartbeat_raise_cancelled_error():
    env = ActivityEnvironment()
    env.on_heartbeat = lambda details: env.cancel() if details == 2 else None
    with pytest.raises(errors.CancelledError):
        env.run(Downloads().fetch, 10)
    assert env.heartbeats == [1, 2]  # the heartbeat that learned of the request raised
    assert env.cancelled


def test_cancel_from_another_greenlet_lets_the_activity_clean_up():
    env = ActivityEnvironment()
    log = []
    runner = gevent.spawn(env.run, Downloads().cleans_up, log)
    gevent.sleep(0.02)
    assert not runner.ready() and env.heartbeats  # still heartbeating
    env.cancel()
    with pytest.raises(errors.CancelledError):
        runner.get(timeout=5)
    assert log == ["cleaned up"] and env.cancelled


def test_checks_what_would_not_reach_swf():
    env = ActivityEnvironment()
    with pytest.raises(errors.PayloadTooLargeError):
        env.run(Downloads().big_heartbeat)
    with pytest.raises(errors.DataConversionError):
        env.run(Downloads().returns, object())
    assert env.run(Downloads().returns, [1, "two"]) == [1, "two"]


def test_context_outside_run_is_still_an_error():
    env = ActivityEnvironment()
    env.run(Downloads().returns, 1)
    with pytest.raises(errors.GreenflowError):
        context()


def test_any_callable_runs_as_an_activity():
    env = ActivityEnvironment()

    def plain(x):
        heartbeat({"at": x})
        return x * 2

    assert env.run(plain, 21) == 42 and env.heartbeats == [{"at": 21}]
