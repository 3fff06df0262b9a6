"""Throughput benchmarking: the standard workloads and a runner, shared by ``greenflow bench``
and the project's ``benchmarks/`` scripts (one definition of W1-W4 for all of them).

* :mod:`.workloads` - W1 (one-activity workflows), W2 (10 sequential activities), W3 (100
  parallel activities), W4 (a 1 s durable timer), with their sizes and expected results;
* :mod:`.runner` - runs N workflows at concurrency C and collects every result the way a
  user does (``handle.result()``), measuring latency, throughput over time, SWF calls and
  CPU per workflow;
* :mod:`.chart` - a self-contained SVG chart of a run (throughput over time, latency
  histogram).
"""

from __future__ import annotations
