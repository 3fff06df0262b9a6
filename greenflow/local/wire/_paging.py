"""Opaque, tamper-proof ``nextPageToken`` values for the local service's paged operations.

SWF's page tokens are opaque strings the client must send back unchanged, together with
the same other arguments. The local service pages by *keyset* (the position after the
last item returned, e.g. ``["name", "version"]`` or ``[start_ts, workflow_id, run_id]``),
never by offset, so a page stays correct while rows are added or removed.

A token is ``<payload>.<mac>``: the payload is URL-safe base64 of the JSON position, the
mac an HMAC-SHA256 (truncated to 128 bits) over the payload *and the request's scope*.
The scope is the operation name plus every argument except ``nextPageToken`` and
``maximumPageSize`` (see :func:`request_scope`), so a token is only accepted by the same
query that issued it; a tampered, truncated or foreign token, or one sent with changed
arguments, is answered with ``ValidationException`` instead of a wrong page or a crash.

The HMAC key is a random per-database secret kept in the ``meta`` table, so tokens stay
valid across restarts of the service on the same database.

Usage (registry, visibility and the engine's history paging share this)::

    codec = page_token_codec(store)
    scope = request_scope("ListDomains", params)
    position = codec.decode(params.get("nextPageToken"), scope)   # None on the first page
    ...
    response["nextPageToken"] = codec.encode(scope, [last_name])
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from ..storage._store import Store
from ._faults import validation_error

#: The ``meta`` key holding the hex HMAC secret.
SECRET_KEY = "page_token_secret"
#: Arguments that may change between pages of one query (so they are left out of the scope).
UNSCOPED_ARGUMENTS = frozenset({"nextPageToken", "maximumPageSize"})
#: SWF's documented maximum length of a ``nextPageToken``.
MAX_TOKEN_LENGTH = 2048
#: Page size used when ``maximumPageSize`` is missing or 0 (SWF's default and maximum).
DEFAULT_PAGE_SIZE = 1000

_MAC_BYTES = 16


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def request_scope(operation: str, params: dict[str, Any]) -> str:
    """The scope a page token is bound to: the operation and its non-paging arguments.

    Args:
        operation: the SWF operation name (``"ListDomains"``).
        params: the request's parameters; ``nextPageToken`` and ``maximumPageSize`` are ignored.
    """
    rest = {key: value for key, value in params.items() if key not in UNSCOPED_ARGUMENTS}
    # default=str: parameters may hold datetimes or other non-JSON values when called
    # directly (not over HTTP); any stable text form will do for a MAC input.
    return operation + "\n" + json.dumps(rest, sort_keys=True, separators=(",", ":"), default=str)


def page_size(params: dict[str, Any]) -> int:
    """The page size a request asks for: ``maximumPageSize``, or 1000 when absent or 0.

    Raises:
        Fault: ``ValidationException`` when it is not an integer from 0 to 1000.
    """
    size = params.get("maximumPageSize")
    if size is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= DEFAULT_PAGE_SIZE:
        raise validation_error(
            f"Value {size!r} at 'maximumPageSize' failed to satisfy constraint: "
            f"Member must have value between 0 and {DEFAULT_PAGE_SIZE}")
    return size or DEFAULT_PAGE_SIZE


class PageTokenCodec:
    """Encodes keyset positions into opaque page tokens and checks them on the way back.

    Args:
        secret: the HMAC key (keep it stable for tokens to survive restarts).
    """

    def __init__(self, secret: bytes):
        if len(secret) < 16:
            raise ValueError("page token secret must be at least 16 bytes")
        self._secret = secret

    def _mac(self, scope: str, payload: str) -> str:
        digest = hmac.new(self._secret, f"{scope}\0{payload}".encode(), hashlib.sha256).digest()
        return _b64encode(digest[:_MAC_BYTES])

    def encode(self, scope: str, position: Any) -> str:
        """A token for ``position`` (any JSON value) valid only with the same ``scope``."""
        payload = _b64encode(json.dumps(position, separators=(",", ":")).encode())
        token = f"{payload}.{self._mac(scope, payload)}"
        if len(token) > MAX_TOKEN_LENGTH:
            # A position is a few short keys; this only happens with absurd names.
            raise ValueError(f"page token of {len(token)} characters exceeds {MAX_TOKEN_LENGTH}")
        return token

    def decode(self, token: str | None, scope: str) -> Any:
        """The position a token holds, or ``None`` for no token (the first page).

        Raises:
            Fault: ``ValidationException`` when the token was not issued by this database
                for this exact query (tampered, truncated, or other arguments changed).
        """
        if token is None:
            return None
        if not isinstance(token, str) or "." not in token:
            raise validation_error("Invalid nextPageToken")
        payload, _, mac = token.rpartition(".")
        if not hmac.compare_digest(mac, self._mac(scope, payload)):
            raise validation_error(
                "Invalid nextPageToken: not issued for this request (send it back unchanged, "
                "with the same other arguments)")
        try:
            return json.loads(_b64decode(payload))
        except (binascii.Error, ValueError):  # pragma: no cover - the MAC matched, so only a bug gets here
            raise validation_error("Invalid nextPageToken") from None


def page_token_codec(store: Store) -> PageTokenCodec:
    """The codec of a store, keyed with its per-database secret (created on first use)."""
    conn = store.connection
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (SECRET_KEY,)).fetchone()
    if row is None:
        with store.transaction() as conn:
            # OR IGNORE: whichever part asks first creates it; everyone then reads the same one.
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                         (SECRET_KEY, secrets.token_hex(32)))
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (SECRET_KEY,)).fetchone()
    return PageTokenCodec(bytes.fromhex(row[0]))
