"""What every ``greenflow`` command shares: connection options, error handling, JSON and times.

Nothing heavy is imported at import time: ``greenflow worker`` must monkey-patch gevent
before botocore is imported, so the SWF client and the workflow client are imported when a
command runs.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
from collections.abc import Callable
from typing import IO, Any

from ..errors import GreenflowError

DEFAULT_DOMAIN = "greenflow"

#: A command's handler: parsed arguments in, exit status out.
Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A command-line mistake: reported with exit status 2."""


def add_command(subparsers: Any, name: str, help: str, description: str | None = None, *,
                connects: bool = True) -> argparse.ArgumentParser:
    """Add the sub-command ``name``; ``connects`` gives it ``--endpoint``, ``--region``, ``--domain``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help, description=description or help[0].upper() + help[1:] + ".")
    if connects:
        # Also accepted before the command (add_global_options); SUPPRESS keeps a value
        # given there from being reset by this parser's default.
        add_connection_options(parser, argparse.SUPPRESS)
    return parser


LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]


def add_connection_options(parser: argparse.ArgumentParser, default: Any = None) -> None:
    """``--endpoint``, ``--region`` and ``--domain``; ``default`` None fills in the real defaults."""
    parser.add_argument("--endpoint", default=default,
                        help="SWF endpoint URL (default: GREENFLOW_ENDPOINT, else the embedded local service)")
    parser.add_argument("--region", default=default,
                        help="use Amazon SWF in this AWS region (default: GREENFLOW_REGION; AWS_REGION and "
                             "~/.aws/config alone never choose Amazon SWF)")
    parser.add_argument("--domain", default=os.environ.get("GREENFLOW_DOMAIN", DEFAULT_DOMAIN)
                        if default is None else default,
                        help=f"SWF domain (default: GREENFLOW_DOMAIN or {DEFAULT_DOMAIN!r})")


def add_global_options(parser: argparse.ArgumentParser, commands: Any) -> None:
    """The options every command takes before its name; ``--log-level`` also after it."""
    parser.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS, help="logging level (default: WARNING)")
    add_connection_options(parser)
    for command_parser in commands.choices.values():
        if "--log-level" not in command_parser._option_string_actions:
            command_parser.add_argument("--log-level", default=argparse.SUPPRESS, choices=LOG_LEVELS,
                                        help="logging level (default: WARNING)")


def command(func: Handler) -> Handler:
    """Map errors to messages and exit statuses, the same way for every command.

    Exit statuses: 0 success; 1 the operation failed (an SWF fault, a failed workflow with
    ``--wait``, a non-deterministic history for ``replay``); 2 bad usage (unknown module, bad
    JSON, no workflow classes found); 130 interrupted.
    """
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except UsageError as error:
            print(f"greenflow {args.command}: error: {error}", file=sys.stderr)
            return 2
        except GreenflowError as error:
            print(f"greenflow {args.command}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
    run.__name__ = func.__name__
    return run


def connect(args: argparse.Namespace) -> Any:
    """The botocore ``swf`` client the connection options name."""
    from ..swf import connect as connect_swf
    return connect_swf(endpoint=args.endpoint, region=args.region)


def workflow_client(args: argparse.Namespace, task_list: str | None = None) -> Any:
    """A :class:`~greenflow.client.WorkflowClient` on the options' endpoint and domain."""
    from ..client import WorkflowClient
    return WorkflowClient(connect(args), args.domain, task_list)


#: ``--input`` means the same on ``start``, ``signal`` and ``query`` (see :func:`call_args`).
INPUT_HELP = ('arguments as JSON: a list of positional arguments, {"args": [...], "kwargs": {...}}, '
              "or any other value as the single argument")


def call_args(value: Any) -> tuple[list[Any], dict[str, Any]]:
    """``--input`` JSON → (args, kwargs): a list is positional args, ``{"args", "kwargs"}`` both,
    anything else the single argument. ``start``, ``signal`` and ``query`` read it the same way."""
    if value is None:
        return [], {}
    if isinstance(value, dict) and value and set(value) <= {"args", "kwargs"}:
        return list(value.get("args") or []), dict(value.get("kwargs") or {})
    if isinstance(value, list):
        return value, {}
    return [value], {}


def json_arg(text: str | None, what: str) -> Any:
    """Parse the JSON option ``what`` (None when not given)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{what} is not valid JSON ({error}): {text!r}") from None


def print_json(value: Any, stream: IO[str] | None = None) -> None:
    """Write ``value`` as indented JSON (datetimes as epoch seconds) and a newline."""
    out = stream or sys.stdout
    json.dump(value, out, indent=2, default=_json_default, sort_keys=True)
    out.write("\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def when(value: Any) -> str:
    """A timestamp (datetime or epoch seconds) as UTC text to the millisecond; ``-`` if absent."""
    if value is None or value == "":
        return "-"
    if isinstance(value, (int, float)):
        value = _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
    return str(value)
