"""The ``greenflow`` command (also ``python -m greenflow``).

One module per group of commands; each exposes ``add_commands(subparsers)``, which adds its
sub-commands with ``subparsers.add_parser(name, help=...)`` and sets
``parser.set_defaults(func=handler)``, where ``handler(args) -> int`` returns the exit
status. :data:`COMMAND_GROUPS` lists them; a new group is a new module added there.

* :mod:`._service` – ``server``: the local SWF service in the foreground.
* :mod:`._worker` – ``worker``: workflow and activity workers for the classes in modules.
* :mod:`._executions` – ``start``, ``signal``, ``cancel``, ``terminate``, ``list``,
  ``history``.
* :mod:`._inspect` – ``describe`` (why a run is where it is) and ``query``.
* :mod:`._replay` – ``replay``: a saved history against today's code.
* :mod:`._console` – ``console``: the web console (the ``console`` extra).
* :mod:`._bench` – ``bench``: throughput of the standard workloads or of your workflow.
* :mod:`._common` (options, errors → exit statuses, JSON) and :mod:`._definitions` (finding
  workflow classes and activities in modules) serve them.

Exit statuses: 0 success; 1 the operation failed; 2 bad usage; 130 interrupted.

Nothing heavy is imported until a command runs: ``greenflow worker`` must monkey-patch
gevent before botocore is imported.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import _bench, _console, _executions, _inspect, _replay, _service, _worker
from ._common import add_global_options

#: Each group's ``add_commands(subparsers)``, in the order ``greenflow --help`` lists them.
COMMAND_GROUPS: tuple[Callable[[Any], None], ...] = (
    _service.add_commands,
    _worker.add_commands,
    _executions.add_commands,
    _inspect.add_commands,
    _replay.add_commands,
    _console.add_commands,
    _bench.add_commands,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``greenflow`` argument parser, with every command."""
    parser = argparse.ArgumentParser(prog="greenflow", description="Durable workflows on the Amazon SWF API.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_commands in COMMAND_GROUPS:
        add_commands(subparsers)
    add_global_options(parser, subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``greenflow`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except BrokenPipeError:
        # The reader went away (`greenflow history ID | head`): not an error worth a
        # traceback. Point stdout at /dev/null so the interpreter's final flush is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # what a shell reports for a command killed by SIGPIPE


__all__ = ["COMMAND_GROUPS", "build_parser", "main"]
