"""The collector tuning of a process that serves the service (``serve_forever``)."""

from __future__ import annotations

import gc

from greenflow.local._local_service import GC_YOUNG_FACTOR, _tuned_gc


def test_tuned_gc_collects_less_often_while_serving_and_restores_the_settings_after():
    before = gc.get_threshold()
    with _tuned_gc(True):
        assert gc.get_threshold() == (before[0] * GC_YOUNG_FACTOR, *before[1:])
        gc.freeze()  # what serve_forever does once the service is ready
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_untuned_gc_is_left_alone():
    before = gc.get_threshold()
    with _tuned_gc(False):
        assert gc.get_threshold() == before
    assert gc.get_threshold() == before
