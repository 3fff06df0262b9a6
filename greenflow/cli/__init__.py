"""The ``greenflow`` command (also ``python -m greenflow``).

Commands:

``greenflow server [--host H] [--port P] [--db PATH] [--credentials FILE] [--poll-timeout S]``
    Run the local SWF service in the foreground. It prints one line with its endpoint
    once it listens, and stops cleanly (exit status 0) on SIGTERM or Ctrl-C.

Adding commands (the extension point): a module listed in :data:`COMMAND_MODULES` that
defines ``add_commands(subparsers)`` gets to add its own subcommands. For each command,
``add_commands`` calls ``subparsers.add_parser(name, help=...)``, adds its arguments and
sets ``parser.set_defaults(func=handler)``, where ``handler(args) -> int`` returns the
exit status. A listed module that does not exist (not installed) is skipped::

    # greenflow/_more_commands.py, added to COMMAND_MODULES
    def add_commands(subparsers):
        parser = subparsers.add_parser("replay", help="replay a saved history")
        parser.add_argument("history")
        parser.set_defaults(func=_replay)
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sqlite3
import sys
from collections.abc import Sequence

#: Modules that may add commands through ``add_commands(subparsers)`` (skipped if absent).
COMMAND_MODULES: list[str] = ["greenflow.cli._executions"]


def build_parser() -> argparse.ArgumentParser:
    """The ``greenflow`` argument parser, with every registered command."""
    parser = argparse.ArgumentParser(prog="greenflow", description="Durable workflows on the Amazon SWF API.")
    parser.add_argument("--log-level", default="WARNING",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="logging level (default: WARNING)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_server_command(subparsers)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name is not None and module_name.startswith(error.name):
                continue  # the module (or its package) does not exist: nothing to add
            raise
        add_commands = getattr(module, "add_commands", None)
        if add_commands is not None:
            add_commands(subparsers)
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
    return int(func(args) or 0)


# --------------------------------------------------------------------------- greenflow server


def _add_server_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "server", help="run the local SWF service",
        description="Run the local SWF service (SWF's JSON API, durable in SQLite) in the foreground. "
                    "SIGTERM or Ctrl-C stop it cleanly.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1; any other address needs --credentials)")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: 0, a free port, printed at start)")
    parser.add_argument("--db", default="greenflow.db", metavar="PATH",
                        help="SQLite database file (default: greenflow.db; ':memory:' keeps nothing)")
    parser.add_argument("--credentials", metavar="FILE",
                        help="require SigV4-signed requests; FILE holds a JSON object or lines 'KEYID SECRET'")
    parser.add_argument("--poll-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="how long a long poll waits for a task (default: 60, as SWF)")
    parser.add_argument("--synchronous", default="NORMAL", choices=["NORMAL", "FULL"],
                        help="SQLite durability: NORMAL survives a crash of the process, FULL also a power loss")
    parser.set_defaults(func=_run_server)


def _run_server(args: argparse.Namespace) -> int:
    from ..local import DatabaseInUseError, LocalService

    try:
        service = LocalService(args.db, args.host, args.port, poll_timeout=args.poll_timeout,
                               credentials=args.credentials, synchronous=args.synchronous)
    except (ValueError, OSError) as error:
        print(f"greenflow server: error: {error}", file=sys.stderr)
        return 2

    def ready(service: LocalService) -> None:
        print(f"greenflow: local SWF service listening on {service.endpoint} (database {service.db_path})",
              flush=True)

    try:
        service.serve_forever(ready=ready)
    except DatabaseInUseError as error:
        print(f"greenflow server: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"greenflow server: error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    except sqlite3.Error as error:
        print(f"greenflow server: error: cannot use the database {args.db}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass  # a Ctrl-C that arrived before the signal handlers were installed
    return 0
