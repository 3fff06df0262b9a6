"""The AWS-like mode's parts on their own: token buckets, latency, faults, the wire form."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from greenflow.local import AWSEmulation, LocalService
from greenflow.local.wire._emulation import SWF_API_QUOTAS, TokenBucket, parse_latency
from greenflow.local.wire._faults import Fault
from greenflow.local.wire._model import operation_names
from greenflow.swf import connect
from greenflow.swf import NO_RETRY


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_starts_full_and_refills_at_its_rate():
    clock = FakeClock()
    bucket = TokenBucket(3, 2.0, clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now = 0.5  # one token back
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now = 100.0  # never more than its size
    assert sum(bucket.take() for _ in range(10)) == 3


def test_quotas_name_only_swf_apis_and_cover_all_of_them():
    # Every SWF operation has its documented bucket (all 39 are in the table).
    assert set(SWF_API_QUOTAS) == set(operation_names())
    assert SWF_API_QUOTAS["PollForActivityTask"] == (2000, 200)
    assert SWF_API_QUOTAS["StartWorkflowExecution"] == (2000, 200)


def test_throttled_call_is_a_throttling_fault_and_counted():
    clock = FakeClock()
    emulation = AWSEmulation(latency=(0, 0), quotas={"ListDomains": (2, 1.0)}, clock=clock)
    emulation.admit("ListDomains")
    emulation.admit("ListDomains")
    with pytest.raises(Fault) as throttled:
        emulation.admit("ListDomains")
    assert throttled.value.code == "ThrottlingException" and throttled.value.status == 400
    assert throttled.value.to_wire()["__type"] == "com.amazon.coral.availability#ThrottlingException"
    emulation.admit("DescribeDomain")  # no bucket: never throttled
    assert emulation.counts()["throttled"] == {"ListDomains": 1}
    assert emulation.counts()["calls"] == {"ListDomains": 3, "DescribeDomain": 1}


def test_quota_scale_tightens_every_bucket():
    emulation = AWSEmulation(latency=(0, 0), quota_scale=0.001, clock=FakeClock())
    admitted = 0
    for _ in range(10):
        try:
            emulation.admit("PollForDecisionTask")  # 2000 * 0.001 = 2 tokens
            admitted += 1
        except Fault:
            pass
    assert admitted == 2


def test_faults_are_seeded_and_at_the_rate_given():
    def outcomes(seed: int) -> list[str]:
        emulation = AWSEmulation(latency=(0, 0), fault_rate=0.2, throttle=False, seed=seed)
        result = []
        for _ in range(500):
            try:
                emulation.admit("ListDomains")
                result.append("ok")
            except Fault as fault:
                result.append(f"{fault.code}/{fault.status}")
        return result

    first = outcomes(11)
    assert first == outcomes(11)  # same seed, same run
    assert first != outcomes(12)
    assert 60 <= len([o for o in first if o != "ok"]) <= 140  # ~20%
    assert {o for o in first if o != "ok"} == {"InternalFailure/500", "ServiceUnavailable/503"}


def test_latency_is_drawn_in_the_range_and_split_over_both_legs():
    emulation = AWSEmulation(latency=(0.02, 0.04), seed=1)
    legs = [emulation.delay() for _ in range(200)]
    assert all(0.01 <= leg <= 0.02 for leg in legs)
    assert max(legs) - min(legs) > 0.005


@pytest.mark.parametrize("text, expected", [("30", (0.03, 0.03)), ("20-40", (0.02, 0.04)), ("0", (0.0, 0.0))])
def test_parse_latency(text, expected):
    assert parse_latency(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "abc", "40-20", "-5", "1-2-3"])
def test_parse_latency_refuses_nonsense(text):
    with pytest.raises(ValueError):
        parse_latency(text)


@pytest.mark.parametrize("options", [{"latency": (0.04, 0.02)}, {"fault_rate": 1.5}, {"quota_scale": 0}])
def test_bad_options_are_refused(options):
    with pytest.raises(ValueError):
        AWSEmulation(**options)


def test_every_call_pays_the_latency_over_http():
    with LocalService(emulation=AWSEmulation(latency=(0.03, 0.03))) as service:
        swf = connect(service.endpoint)
        try:
            swf.call("ListDomains", registrationStatus="REGISTERED")  # connection set up
            began = time.perf_counter()
            for _ in range(5):
                swf.call("ListDomains", registrationStatus="REGISTERED")
            per_call = (time.perf_counter() - began) / 5
        finally:
            swf.close()
    assert per_call >= 0.03


def test_emulated_faults_reach_botocore_as_swf_would_send_them():
    emulation = AWSEmulation(latency=(0, 0), quotas={"ListDomains": (1, 0.001)})
    with LocalService(emulation=emulation) as service:
        swf = connect(service.endpoint, retry=NO_RETRY)
        try:
            swf.call("ListDomains", registrationStatus="REGISTERED")
            with pytest.raises(Exception) as raised:
                swf.call("ListDomains", registrationStatus="REGISTERED")
        finally:
            swf.close()
    cause = raised.value.__cause__
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == "ThrottlingException"
    assert type(raised.value).__name__ == "ThrottlingError"


def test_decision_quota_spent_is_a_rate_exceeded_failed_event():
    # ScheduleActivityTask's bucket holds 2 and refills slowly: the third of one batch fails
    # as SWF fails it, ACTIVITY_CREATION_RATE_EXCEEDED, and a decision task follows.
    emulation = AWSEmulation(latency=(0, 0), decision_quotas={"ScheduleActivityTask": (2, 0.001),
                                                              "StartTimer": (1, 0.001)})
    with LocalService(emulation=emulation, poll_timeout=1.0) as service:
        swf = connect(service.endpoint)
        try:
            swf.ensure_domain("d", retention_days=1)
            swf.call("RegisterWorkflowType", domain="d", name="W", version="1", defaultTaskList={"name": "t"},
                     defaultTaskStartToCloseTimeout="60", defaultExecutionStartToCloseTimeout="3600",
                     defaultChildPolicy="TERMINATE")
            swf.call("RegisterActivityType", domain="d", name="A", version="1", defaultTaskList={"name": "a"},
                     defaultTaskScheduleToStartTimeout="60", defaultTaskScheduleToCloseTimeout="60",
                     defaultTaskStartToCloseTimeout="60", defaultTaskHeartbeatTimeout="NONE")
            run_id = swf.call("StartWorkflowExecution", domain="d", workflowId="w",
                              workflowType={"name": "W", "version": "1"})["runId"]
            task = swf.poll_for_decision_task(domain="d", taskList={"name": "t"})
            schedule = [{"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
                "activityType": {"name": "A", "version": "1"}, "activityId": f"a{i}"}} for i in range(3)]
            timers = [{"decisionType": "StartTimer", "startTimerDecisionAttributes": {
                "timerId": f"t{i}", "startToFireTimeout": "60"}} for i in range(2)]
            swf.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=schedule + timers)
            events = list(swf.history("d", "w", run_id))
        finally:
            swf.close()
    failed = [e["scheduleActivityTaskFailedEventAttributes"] for e in events
              if e["eventType"] == "ScheduleActivityTaskFailed"]
    assert [(f["activityId"], f["cause"]) for f in failed] == [("a2", "ACTIVITY_CREATION_RATE_EXCEEDED")]
    assert len([e for e in events if e["eventType"] == "ActivityTaskScheduled"]) == 2
    timer_failed = [e["startTimerFailedEventAttributes"] for e in events if e["eventType"] == "StartTimerFailed"]
    assert [(f["timerId"], f["cause"]) for f in timer_failed] == [("t1", "TIMER_CREATION_RATE_EXCEEDED")]
    assert events[-1]["eventType"] == "DecisionTaskScheduled"  # the workflow hears of it
    assert emulation.counts()["decisions_throttled"] == {"ScheduleActivityTask": 1, "StartTimer": 1}


def test_decision_quotas_are_swfs_documented_defaults():
    from greenflow.local.wire._emulation import SWF_DECISION_QUOTAS
    assert SWF_DECISION_QUOTAS == {"ScheduleActivityTask": (1000, 200), "StartTimer": (2000, 200),
                                   "StartChildWorkflowExecution": (500, 12)}
