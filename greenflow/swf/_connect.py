"""``connect()``: where SWF is, and the one place that builds botocore clients.

Resolution order (first match wins):

1. an explicit ``endpoint`` (a local service URL, or any SWF-compatible endpoint);
2. the ``GREENFLOW_ENDPOINT`` environment variable;
3. **Amazon SWF**, only when asked for explicitly: the ``region`` argument, the
   ``GREENFLOW_REGION`` environment variable (``greenflow --region``), or a ``session``
   passed in with a region configured; credentials come from botocore's normal chain;
4. otherwise the **embedded default**: the local service started in the background of
   this process on a loopback port, storing its state in ``GREENFLOW_DB`` or
   ``~/.local/share/greenflow/greenflow.db`` (``db_path=":memory:"`` for tests), stopped when
   the interpreter exits.

``AWS_REGION``, ``AWS_DEFAULT_REGION`` and ``~/.aws/config`` never choose Amazon SWF on
their own: AWS developers have them set for other work, and a program that silently
registered domains and ran workflows in their account would be a costly surprise.
Every ``connect()`` logs at INFO which backend it talks to (the endpoint; for Amazon SWF
the region, where the credentials come from and, when the configuration names it, the
account).

The embedded service runs as a child process owned by this one (``embedded="process"``,
the default): it has its own GIL, which roughly doubles end-to-end throughput on a
multi-core machine, costs about half a second at start, and never outlives this process
(see :mod:`._child`). ``embedded="thread"`` (or ``GREENFLOW_EMBEDDED=thread``) runs it in
a thread of this process instead: it starts in milliseconds and tests can reach its core.
If another process's service already has the database open (a second program started
with the same default database, a ``greenflow server`` on it), ``connect()`` attaches to
that service instead of starting a second one on the same file. Requests to the embedded
service are not SigV4-signed: it has no credentials to check them against, and signing
costs about 10% of a call's client CPU.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Any

import botocore
import botocore.credentials
import botocore.exceptions
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config

from .. import __version__
from ._client import SWFClient
from ._retry import CallRetryPolicy

log = logging.getLogger("greenflow.swf")

#: The environment variable that chooses Amazon SWF in a region (``AWS_REGION`` does not).
REGION_VARIABLE = "GREENFLOW_REGION"
#: Long polls last up to 60 s; AWS asks clients to wait at least 70 s for the answer.
READ_TIMEOUT = 75
CONNECT_TIMEOUT = 5
#: Many concurrent long polls and task answers share one client; connections open on demand.
MAX_POOL_CONNECTIONS = 1000
#: Region and dummy credentials for local endpoints (the local service accepts any unless
#: it was given credentials to verify).
LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = ("greenflow", "greenflow")
#: The User-Agent sent to local endpoints (see _local_client).
LOCAL_USER_AGENT = f"greenflow/{__version__} botocore/{botocore.__version__}"
#: The environment variable choosing how calls reach a greenflow local service.
TRANSPORT_VARIABLE = "GREENFLOW_TRANSPORT"
CONNECT_TRANSPORTS = ("direct", "botocore")
DEFAULT_TRANSPORT = "direct"
#: Where the embedded service runs: a child process of this one, or a thread of this process.
EMBEDDED_MODES = ("process", "thread")
DEFAULT_EMBEDDED = "process"
#: How long to wait for another process's embedded service to finish starting before attaching.
ATTACH_TIMEOUT = 30.0


def default_db_path() -> str:
    """Where the embedded service keeps its database: ``GREENFLOW_DB`` or ``~/.local/share/greenflow/greenflow.db``."""
    path = os.environ.get("GREENFLOW_DB")
    if path:
        return path
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "greenflow", "greenflow.db")


def client_config(**overrides: Any) -> Config:
    """botocore's ``Config`` for SWF: long read timeout, short connect timeout, big pool, no botocore retries."""
    options: dict[str, Any] = {
        "read_timeout": READ_TIMEOUT,
        "connect_timeout": CONNECT_TIMEOUT,
        "max_pool_connections": MAX_POOL_CONNECTIONS,
        # We retry ourselves (CallRetryPolicy): bounded, logged, never a tight loop on long polls.
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "tcp_keepalive": True,
    }
    options.update(overrides)
    if options["read_timeout"] < 70:
        raise ValueError(f"read_timeout must be at least 70 s for SWF long polls, not {options['read_timeout']}")
    return Config(**options)


def connect(endpoint: str | None = None, region: str | None = None, session: Any = None, *,
            db_path: str | None = None, embedded: str | None = None, retry: CallRetryPolicy | None = None,
            transport: str | None = None, **config: Any) -> SWFClient:
    """Connect to SWF: an endpoint, Amazon SWF in a region, or the embedded local service.

    Args:
        endpoint: URL of an SWF-compatible service (``http://127.0.0.1:8042``).
        region: an AWS region, meaning Amazon SWF there.
        session: a botocore (or boto3) session for credentials and configuration.
        db_path: database of the embedded local service (``":memory:"`` for a throwaway one);
            only used when the embedded default is chosen.
        embedded: where the embedded service runs, ``"process"`` (default) or ``"thread"``
            (else ``GREENFLOW_EMBEDDED``); only used when the embedded default is chosen.
        retry: retry policy for throttling and outages (default :class:`CallRetryPolicy`).
        transport: how calls reach a greenflow local service (else ``GREENFLOW_TRANSPORT``):
            ``"direct"`` (default; SWF's JSON protocol without botocore's per-call cost,
            used with the embedded service at once and with an endpoint once it has named
            itself a greenflow service) or ``"botocore"`` (botocore's full client for every
            call). Amazon SWF always gets botocore.
        **config: botocore ``Config`` options overriding greenflow's (``read_timeout`` must
            stay >= 70).

    Returns:
        An :class:`SWFClient`. See the module doc for the resolution order.
    """
    mode = embedded or os.environ.get("GREENFLOW_EMBEDDED") or DEFAULT_EMBEDDED
    if mode not in EMBEDDED_MODES:
        raise ValueError(f"embedded must be one of {EMBEDDED_MODES}, not {mode!r}")
    transport = transport or os.environ.get(TRANSPORT_VARIABLE) or DEFAULT_TRANSPORT
    if transport not in CONNECT_TRANSPORTS:
        raise ValueError(f"transport must be one of {CONNECT_TRANSPORTS}, not {transport!r}")
    botocore_session = _botocore_session(session)
    botocore_config = client_config(**config)
    endpoint = endpoint or os.environ.get("GREENFLOW_ENDPOINT") or None
    if endpoint:
        if "://" not in endpoint:
            endpoint = f"http://{endpoint}"  # "127.0.0.1:8042" from a command line
        client = _local_client(botocore_session, endpoint, region, botocore_config, explicit_session=session)
        log.info("greenflow talks to the SWF service at %s", endpoint)
        return SWFClient(client, retry=retry, transport="auto" if transport == "direct" else "botocore")
    region = region or os.environ.get(REGION_VARIABLE) or None
    if region is None and session is not None:
        region = botocore_session.get_config_variable("region")  # a session given for Amazon SWF
    if region:
        with _create_lock:
            client = botocore_session.create_client("swf", region_name=region, config=botocore_config)
        log.info("greenflow talks to Amazon SWF in %s (%s)", region, aws_identity(botocore_session))
        return SWFClient(client, retry=retry)
    service = embedded_service(db_path, mode=mode)
    ignored = [name for name in ("AWS_REGION", "AWS_DEFAULT_REGION") if os.environ.get(name)]
    log.info("greenflow talks to the embedded local SWF service at %s (database %s)%s", service.endpoint,
             service.db_path, f"; {' and '.join(ignored)} {'does' if len(ignored) == 1 else 'do'} not choose "
                              f"Amazon SWF: pass region= or set {REGION_VARIABLE}" if ignored else "")
    if "signature_version" not in config:
        # Our own service, started without credentials: it checks no signature, so skip
        # SigV4 (about 90 µs of client CPU per call).
        botocore_config = botocore_config.merge(Config(signature_version=UNSIGNED))
    client = _local_client(botocore_session, service.endpoint, None, botocore_config, explicit_session=None)
    return SWFClient(client, local_service=service, retry=retry, transport=transport)


def aws_identity(botocore_session: Any) -> str:
    """Who the calls to Amazon SWF are made as, as far as is known without a network call.

    Where the credentials come from and their access key ID (shortened), and the account
    when the profile names a role ARN; botocore has already resolved the credentials when
    it built the client, so this costs nothing. The account of plain access keys is only
    known to AWS (``aws sts get-caller-identity``), which greenflow does not call.
    """
    credentials = botocore_session.get_credentials()
    if credentials is None:
        return "no AWS credentials found: calls will fail until botocore's credential chain finds some"
    what = f"credentials from {credentials.method}"
    if not isinstance(credentials, botocore.credentials.RefreshableCredentials):
        # Reading the key of refreshable (assumed-role, instance) credentials may fetch
        # them from AWS; plain keys are already here.
        key = credentials.access_key or ""
        what += f", access key {key[:4]}…{key[-4:]}"
    try:
        role_arn = botocore_session.get_scoped_config().get("role_arn") or ""
    except botocore.exceptions.ProfileNotFound:  # botocore says so on the first call
        role_arn = ""
    parts = role_arn.split(":")
    if len(parts) > 4 and parts[4]:
        return f"account {parts[4]}, role {role_arn}, {what}"
    return f"account not looked up (`aws sts get-caller-identity` shows it), {what}"


_sessions: dict[tuple, Any] = {}
_create_lock = threading.RLock()


def _botocore_session(session: Any) -> Any:
    if session is None:
        # Reuse one session per configuration: it caches the loaded SWF model, which makes
        # each later client about 5x cheaper to build.
        key = tuple(os.environ.get(name) for name in (
            "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "HOME"))
        with _create_lock:
            if key not in _sessions:
                _sessions[key] = botocore.session.get_session()
            return _sessions[key]
    # A boto3 Session wraps a botocore session.
    return getattr(session, "_session", session)


def _local_client(botocore_session: Any, endpoint: str, region: str | None, config: Config, *,
                  explicit_session: Any) -> Any:
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or LOCAL_REGION
    if config.user_agent is None:
        # A fixed User-Agent: botocore otherwise rebuilds its structured one twice per call
        # (about 150 µs of client CPU, a sixth of a call to a local service). Amazon SWF
        # keeps botocore's own (it feeds AWS's SDK metrics, and the network dominates there).
        config = config.merge(Config(user_agent=LOCAL_USER_AGENT))
    kwargs: dict[str, Any] = {}
    # Use real credentials only when the caller gave a session or set them in the
    # environment (a local service may verify signatures); otherwise dummy ones, so a
    # local endpoint never waits on the instance-metadata lookup of the credential chain.
    if explicit_session is None and not os.environ.get("AWS_ACCESS_KEY_ID"):
        kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = LOCAL_CREDENTIALS
    with _create_lock:  # botocore sessions are not safe to share between threads unguarded
        return botocore_session.create_client("swf", region_name=region, endpoint_url=endpoint, config=config,
                                              **kwargs)


# --------------------------------------------------------------------------- embedded service

_embedded: dict[str, Any] = {}
_embedded_lock = threading.Lock()


def embedded_service(db_path: str | None = None, *, mode: str = DEFAULT_EMBEDDED) -> Any:
    """The embedded service for ``db_path``, started on first use.

    ``mode="process"`` (the default): a :class:`~._child.ChildService`, the local service
    in a child process that stops when this process exits or dies; ``mode="thread"``: a
    :class:`~greenflow.local.LocalService` in a thread of this process. One service per
    database file (two on one file would fight over it): within this process whichever
    mode started it first, and when another process's embedded service (or a
    ``greenflow server``) already has the file open, an :class:`AttachedService` that
    points at it. ``":memory:"`` always starts a new, private one. Those this process
    started are stopped at interpreter exit.
    """
    if mode not in EMBEDDED_MODES:
        raise ValueError(f"mode must be one of {EMBEDDED_MODES}, not {mode!r}")
    path = db_path or default_db_path()
    if path != ":memory:":
        path = os.path.abspath(os.path.expanduser(path))
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with _embedded_lock:
        service = _embedded.get(path) if path != ":memory:" else None
        if service is None or not service.running:
            service = _start_or_attach(path, mode)
            if path != ":memory:":
                _embedded[path] = service
    return service


def _start_or_attach(path: str, mode: str) -> Any:
    from ..local import DatabaseInUseError, current_owner

    deadline = time.monotonic() + ATTACH_TIMEOUT
    while True:
        owner = current_owner(path) if path != ":memory:" else None
        if owner is not None:
            if owner.endpoint:
                log.info("using the greenflow service of process %d at %s (it has %s open); it stops "
                            "when that process exits: run `greenflow server` for a service of its own",
                            owner.pid, owner.endpoint, path)
                return AttachedService(path, owner.endpoint, owner.pid)
        else:
            try:
                service = _new_service(path, mode)
            except (DatabaseInUseError, RuntimeError):
                # Another process took the file between our look and our start (or the
                # child could not start): look again, and attach if someone serves it.
                if current_owner(path) is None or time.monotonic() > deadline:
                    raise
            else:
                atexit.register(_stop, service)
                log.debug("started the embedded greenflow SWF service at %s (database %s)", service.endpoint, path)
                return service
        if time.monotonic() > deadline:
            raise DatabaseInUseError(path, owner)
        time.sleep(0.05)  # the owner is starting: its endpoint comes in a moment


def _new_service(path: str, mode: str) -> Any:
    # Imported here: only the embedded default needs them (and the local service is heavy).
    if mode == "process":
        from ._child import ChildService
        return ChildService(db_path=path, host="127.0.0.1", port=0).start()
    from ..local import LocalService
    return LocalService(db_path=path, host="127.0.0.1", port=0).start()


class AttachedService:
    """Another process's running embedded service, used instead of starting a second one
    on the same database file. This process does not own it: :meth:`stop` does nothing."""

    def __init__(self, db_path: str, endpoint: str, pid: int):
        self.db_path = db_path
        self.endpoint = endpoint
        self.pid = pid

    def __repr__(self) -> str:
        return f"<AttachedService pid={self.pid} {self.endpoint} db={self.db_path!r}>"

    @property
    def running(self) -> bool:
        """Whether the owning process still holds the database."""
        from ..local import current_owner

        owner = current_owner(self.db_path)
        return owner is not None and owner.endpoint == self.endpoint

    def stop(self) -> None:
        """Nothing to do: the service belongs to another process."""


def _stop(service: Any) -> None:
    try:
        service.stop()
    except Exception:  # at exit, nothing useful can be done about it
        log.debug("stopping the embedded service failed", exc_info=True)


def as_client(value: Any = None) -> SWFClient:
    """An :class:`SWFClient` from an ``SWFClient``, a raw botocore ``swf`` client, or ``None`` (:func:`connect`)."""
    if isinstance(value, SWFClient):
        return value
    if value is None:
        return connect()
    meta = getattr(value, "meta", None)
    model = getattr(meta, "service_model", None)
    if model is not None and getattr(model, "service_name", None) == "swf":
        return SWFClient(value)
    raise TypeError(f"expected an SWFClient or a botocore 'swf' client, not {value!r}")
