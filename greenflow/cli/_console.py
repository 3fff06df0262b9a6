"""``greenflow console``: serve the web console (also ``python -m greenflow.console``).

The console itself is :mod:`greenflow.console` (the optional ``console`` extra); this module
only parses the command line, so ``greenflow --help`` works without the extra.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, Sequence

__all__ = ["add_commands", "add_arguments", "run", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The console's options."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1; any other address needs --auth)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default: 8080; 0 picks a free one)")
    parser.add_argument("--endpoint", help="SWF endpoint URL (a greenflow service); default $GREENFLOW_ENDPOINT")
    parser.add_argument("--region", help="Amazon SWF in this AWS region (credentials from the usual AWS chain)")
    parser.add_argument("--domain", help="open this domain's executions first")
    parser.add_argument("--workflows", action="append", default=[], metavar="MODULE",
                        help="module defining workflow classes, for stack traces and converters (repeatable)")
    parser.add_argument("--auth", metavar="USER:PASSWORD", default=os.environ.get("GREENFLOW_CONSOLE_AUTH"),
                        help="require HTTP basic authentication (default: $GREENFLOW_CONSOLE_AUTH)")
    parser.add_argument("--refresh", type=float, default=2.0, help="seconds between live refreshes (default: 2)")


def add_commands(subparsers: Any) -> None:
    """Add ``greenflow console`` to the ``greenflow`` command's sub-commands."""
    parser = subparsers.add_parser("console", help="serve the web console",
                                   description="Serve the web console for an SWF endpoint (the local service or "
                                               "Amazon SWF). Needs the 'console' extra.")
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the console until SIGINT/SIGTERM; returns the exit status."""
    # Imported here, not at the top: the CLI imports nothing heavy until a command runs
    # (and `greenflow --help` lists this command without the optional 'console' extra).
    from ..swf import patch_gevent
    patch_gevent()  # before botocore opens a socket: the console serves requests in greenlets
    import gevent
    from gevent.event import Event

    from ..swf import connect
    try:
        from ..console import AuthConfigError, Console, check_binding, parse_auth
    except ImportError as error:
        print(f"greenflow console: the console needs its extra: pip install 'greenflow[console]' ({error})",
              file=sys.stderr)
        return 2
    try:
        auth = parse_auth(args.auth)
        check_binding(args.host, auth)  # before connecting: a refusal should be instant
        swf = connect(endpoint=args.endpoint, region=args.region)
        console = Console(swf, host=args.host, port=args.port, workflow_modules=args.workflows, auth=auth,
                          refresh=args.refresh)
    except (AuthConfigError, ValueError, ImportError) as error:
        print(f"greenflow console: {error}", file=sys.stderr)
        return 2
    console.start()
    url = console.url + (f"domains/{args.domain}/" if args.domain else "")
    print(f"greenflow console on {url} (SWF endpoint {swf.endpoint})", flush=True)
    stopped = Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(number, stopped.set)
    stopped.wait()
    console.stop()
    swf.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m greenflow.console [options]``."""
    parser = argparse.ArgumentParser(prog="python -m greenflow.console", description="Serve the greenflow web console.")
    add_arguments(parser)
    return run(parser.parse_args(argv))
