"""The answer encoder: members holding already-encoded JSON texts are spliced in as they are."""

from __future__ import annotations

import json

import pytest

from greenflow.local.wire._json import EncodedList, decoded, dumps, encode_answer

EVENTS = [{"eventId": 1, "eventTimestamp": 1700000000.125, "eventType": "WorkflowExecutionStarted",
           "workflowExecutionStartedEventAttributes": {"input": "caf\u00e9 \U0001F600 \"quoted\"\n"}},
          {"eventId": 2, "eventTimestamp": 1700000000.5, "eventType": "DecisionTaskScheduled",
           "decisionTaskScheduledEventAttributes": {"taskList": {"name": "d"}, "startToCloseTimeout": "30"}}]


@pytest.mark.parametrize("answer", [
    {"events": EncodedList(dumps(e) for e in EVENTS)},
    {"events": EncodedList()},
    {"taskToken": "t", "startedEventId": 3, "events": EncodedList(dumps(e) for e in EVENTS),
     "previousStartedEventId": 0, "nextPageToken": "p"},
    {"a": EncodedList([dumps(1)]), "b": [1, 2], "c": EncodedList([dumps("x"), dumps(None)])},
    # A decision task handed over inside another answer (eager tasks), events and all.
    {"eagerDecisionTask": {"taskToken": "t", "events": EncodedList(dumps(e) for e in EVENTS),
                           "workflowType": {"name": "w", "version": "1"}}, "other": {"x": [1]}},
    {"outer": {"inner": {"events": EncodedList([dumps(EVENTS[0])])}}},
])
def test_spliced_answer_reads_as_the_plainly_encoded_answer(answer):
    plain = decoded(answer)
    assert "EncodedList" not in repr(plain)
    text = encode_answer(answer)
    assert json.loads(text) == json.loads(dumps(plain)) == plain
    assert text.isascii()


def test_answers_without_encoded_members_are_encoded_as_before():
    answer = {"taskToken": "", "events": [], "count": 1.5}
    assert encode_answer(answer) == dumps(answer)
    assert decoded(answer) is answer


def test_unencodable_answers_still_raise():
    with pytest.raises(TypeError):
        encode_answer({"events": EncodedList(), "bad": object()})


def test_encoded_texts_where_they_are_not_spliced_fail_loudly():
    # Inside a list they are not looked for: the encoder refuses rather than write them as strings.
    with pytest.raises(TypeError):
        encode_answer({"tasks": [{"events": EncodedList([dumps(EVENTS[0])])}]})
