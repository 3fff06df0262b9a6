"""``greenflow server``: run the local SWF service in the foreground."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from typing import Any


def add_commands(subparsers: Any) -> None:
    """Add ``server``."""
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
    # Defaults left to LocalService (None: not given), so the CLI imports nothing heavy here.
    parser.add_argument("--request-timeout", type=float, default=None, metavar="SECONDS",
                        help="how long a client may take to send a whole request once it started one, "
                             "the header-read timeout (default: 20); never cuts a long poll")
    parser.add_argument("--idle-timeout", type=float, default=None, metavar="SECONDS",
                        help="how long a keep-alive connection may wait for its next request (default: 60)")
    parser.add_argument("--max-connections", type=int, default=None, metavar="N",
                        help="the most connections open at once; at the cap the connection idle the longest "
                             "is closed (default: what the open-file limit leaves room for)")
    aws = parser.add_argument_group(
        "AWS-like mode", "behave like a remote Amazon SWF region, to rehearse a move there: every call pays a "
        "network latency, SWF's throttling quotas apply (ThrottlingException; *_RATE_EXCEEDED for decisions), "
        "some calls fail with "
        "InternalFailure/ServiceUnavailable, and requests must be SigV4-signed (with --credentials, or else "
        "with the key id 'greenflow' and secret 'greenflow' that greenflow's clients use for a local endpoint)")
    aws.add_argument("--emulate-aws", action="store_true", help="turn the AWS-like mode on")
    aws.add_argument("--latency", default="20-40", metavar="MS",
                     help="per-call latency in milliseconds, 'LOW-HIGH' (uniform) or one number (default: 20-40)")
    aws.add_argument("--fault-rate", type=float, default=0.01, metavar="P",
                     help="probability that a call fails with a 5xx server error (default: 0.01)")
    aws.add_argument("--quota-scale", type=float, default=1.0, metavar="X",
                     help="multiply SWF's default throttling quotas by X (0.01: a hundred times tighter; "
                          "default: 1)")
    aws.add_argument("--no-throttling", action="store_true", help="do not apply SWF's throttling quotas")
    aws.add_argument("--seed", type=int, default=None, help="seed of the latency and fault draws (default: random)")
    parser.set_defaults(func=_run_server)


def _emulation(args: argparse.Namespace) -> Any:
    """The AWS-like mode the options ask for, or ``None``; ``ValueError`` for bad options."""
    aws_options = {"--fault-rate": args.fault_rate != 0.01, "--quota-scale": args.quota_scale != 1.0,
                   "--no-throttling": args.no_throttling, "--seed": args.seed is not None,
                   "--latency": args.latency != "20-40"}
    if not args.emulate_aws:
        given = [name for name, set_ in aws_options.items() if set_]
        if given:
            raise ValueError(f"{', '.join(given)}: these options need --emulate-aws")
        return None
    from ..local import AWSEmulation
    from ..local.wire._emulation import parse_latency

    return AWSEmulation(latency=parse_latency(args.latency), fault_rate=args.fault_rate,
                        throttle=not args.no_throttling, quota_scale=args.quota_scale, seed=args.seed)


def _run_server(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the CLI imports nothing heavy until a command runs.
    from ..local import DatabaseInUseError, LocalService

    timeouts = {name: value for name, value in
                (("request_timeout", args.request_timeout), ("idle_timeout", args.idle_timeout))
                if value is not None}
    try:
        emulation = _emulation(args)
        service = LocalService(args.db, args.host, args.port, poll_timeout=args.poll_timeout,
                               credentials=args.credentials, synchronous=args.synchronous,
                               max_connections=args.max_connections, emulation=emulation, **timeouts)
    except (ValueError, OSError) as error:
        print(f"greenflow server: error: {error}", file=sys.stderr)
        return 2

    def ready(service: LocalService) -> None:
        print(f"greenflow: local SWF service listening on {service.endpoint} (database {service.db_path})",
              flush=True)
        if emulation is not None:
            signing = "" if args.credentials else " (key id 'greenflow', secret 'greenflow')"
            print(f"greenflow: AWS-like mode: {emulation.describe()}, SigV4 required{signing}", flush=True)

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
    if emulation is not None:
        counts = {kind: sum(per_api.values()) for kind, per_api in emulation.counts().items()}
        print(f"greenflow: AWS-like mode: {counts['calls']} calls, {counts['throttled']} throttled, "
              f"{counts['failed']} failed with a server error, {counts['decisions_throttled']} decisions "
              "over their quota", flush=True)
    return 0
