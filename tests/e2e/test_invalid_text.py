"""Strings that are not valid Unicode (lone UTF-16 surrogates) in a real workflow.

JSON can escape a lone surrogate, but no UTF-8 store can hold one. greenflow's payloads
escape them so they round-trip; a decision that names something with one (here a
workflow id) is failed by the service, as SWF fails any decision it cannot carry out, so
the workflow hears of it instead of its decision task being retried for ever.
"""

from __future__ import annotations

from greenflow import errors
from greenflow.workflow import WorkflowDefinition, execute, signal_external

ODD = "odd \ud800 text"


class OddTextWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, text: str) -> list:
        try:
            signal_external(text, "hello")
        except errors.ExternalWorkflowError as error:
            return [error.cause, text]
        return ["signalled", text]


def test_lone_surrogates_in_payloads_round_trip_and_fail_only_the_decision(env):
    env.workflow_worker(OddTextWorkflow)
    handle = env.client().start(OddTextWorkflow.run, ODD)
    assert handle.result(timeout=20) == ["OPERATION_NOT_PERMITTED", ODD]
