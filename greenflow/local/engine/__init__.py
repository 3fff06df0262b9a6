"""The local SWF service's execution engine.

Modules, one job each:

* :mod:`._engine` – :class:`Engine`, the 15 execution and task operations;
* :mod:`._state` – :class:`EngineState`: open executions and the transitions between their states;
* :mod:`._decisions` – the 13 decisions, as a table from decision type to handler;
* :mod:`._timeouts` – what each kind of deadline does when it comes;
* :mod:`._execution` – one run's state and its row; :mod:`._unit` – atomic units of work;
* :mod:`._open_runs` – the open runs kept in memory (a bounded cache over the database);
* :mod:`._queues` – task lists and long-poll waiters; :mod:`._deadlines` – the deadlines of a
  run and the window of them held in memory;
  :mod:`._scheduler` – fires due deadlines (and the retention sweep);
* :mod:`._history` – history pages; :mod:`._tokens` – task tokens;
  :mod:`._resolve`, :mod:`._values` – type defaults and small value checks.
"""

from ._engine import Engine

OPERATIONS = Engine.OPERATIONS

__all__ = ["Engine", "OPERATIONS"]
