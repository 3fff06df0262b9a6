"""Where the local SWF service keeps its state: one SQLite database.

Modules, one job each:

* :mod:`._store` – :class:`Store`, the connection, schema and transactions;
* :mod:`._checkpoint` – :class:`IdleCheckpointer`, WAL checkpoints when the service is idle;
* :mod:`._lock` – :class:`DatabaseLock`, one service per database file, and who holds it.
"""
