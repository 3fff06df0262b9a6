"""AWS Signature Version 4 verification, for a local service that was given credentials.

botocore signs every request with SigV4: an ``Authorization`` header

    AWS4-HMAC-SHA256 Credential=<key id>/<yyyymmdd>/<region>/swf/aws4_request,
    SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=<hex>

over a *canonical request* (method, path, query, the signed headers, the payload's
SHA-256), with a key derived from the secret, the date, the region and the service. The
service recomputes the signature with the secret it knows for that key id and compares.

Faults, as AWS's JSON services answer them (namespace ``com.amazon.coral.service``,
HTTP 400; botocore reads the code after ``#``):

* ``MissingAuthenticationTokenException``: no ``Authorization`` header;
* ``IncompleteSignatureException``: a malformed header or a missing date;
* ``UnrecognizedClientException``: an access key id the service does not know;
* ``InvalidSignatureException``: a wrong signature, or a request dated more than five
  minutes from the service's wall clock (``Signature expired`` / ``not yet current``), or
  an ``X-Amz-Content-SHA256`` header that is unsigned or not the hash of the body.

The payload hash in the canonical request is always computed from the body received;
an ``X-Amz-Content-SHA256`` header (botocore sends none for SWF) is only checked against it.

The region in the credential scope is not checked: the local service answers for any.
Request dates are checked against the real wall clock, never the service's (possibly
virtual) SWF clock, because botocore signs with the real time.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from urllib.parse import quote, unquote

from ._faults import COMMON_NAMESPACE, Fault

ALGORITHM = "AWS4-HMAC-SHA256"
#: How far a request's date may be from the service's clock, in seconds.
MAX_CLOCK_SKEW = 300
#: The signing name of SWF.
SERVICE = "swf"

_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


def _auth_fault(code: str, message: str, status: int = 400) -> Fault:
    return Fault(code, message, namespace=COMMON_NAMESPACE, status=status)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


class SigV4Verifier:
    """Verifies SigV4-signed requests against a map of access key id → secret.

    Args:
        credentials: access key id → secret access key.
        service: the signing name requests must be signed for.
        max_skew: how far (seconds) a request's ``X-Amz-Date`` may be from ``now()``.
        now: the wall clock (tests pass their own).
    """

    def __init__(self, credentials: Mapping[str, str], *, service: str = SERVICE,
                 max_skew: float = MAX_CLOCK_SKEW, now: Callable[[], float] = time.time):
        if not credentials:
            raise ValueError("SigV4 verification needs at least one access key id and secret")
        for key_id, secret in credentials.items():
            if not isinstance(key_id, str) or not isinstance(secret, str) or not key_id or not secret:
                raise ValueError("credentials must map non-empty access key ids to non-empty secrets")
        self._secrets = dict(credentials)
        self._service = service
        self._max_skew = max_skew
        self._now = now
        # Deriving a signing key costs four HMACs; it only changes daily per key and region.
        self._keys: dict[tuple[str, str, str], bytes] = {}

    def verify(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> str:
        """Check one request; returns the access key id it was signed with.

        Args:
            method: the HTTP method (``"POST"``).
            target: the request target as sent (path and query, ``"/"``).
            headers: the request headers, names in lower case.
            body: the request body.

        Raises:
            Fault: the auth fault AWS would answer.
        """
        authorization = headers.get("authorization")
        if not authorization:
            raise _auth_fault("MissingAuthenticationTokenException", "Missing Authentication Token")
        key_id, scope, signed_headers, signature = self._parse_authorization(authorization)
        amz_date = headers.get("x-amz-date")
        if not amz_date:
            raise _auth_fault(
                "IncompleteSignatureException",
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
            )
        request_time = _parse_amz_date(amz_date)
        if request_time is None:
            raise _auth_fault("IncompleteSignatureException",
                              f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.")
        date, region, service, terminator = scope
        if terminator != "aws4_request" or service != self._service or date != amz_date[:8]:
            raise _auth_fault(
                "InvalidSignatureException",
                f"Credential should be scoped to a valid region, service '{self._service}' and date "
                f"'{amz_date[:8]}', terminated by aws4_request.",
            )
        secret = self._secrets.get(key_id)
        if secret is None:
            raise _auth_fault("UnrecognizedClientException", "The security token included in the request is invalid.")
        self._check_skew(amz_date, request_time)
        missing = [name for name in signed_headers if name not in headers]
        if missing or "host" not in signed_headers:
            raise _auth_fault("InvalidSignatureException", _SIGNATURE_MISMATCH)
        # Always the hash of the body received: a hash the client merely declares would let
        # anyone replay a captured signature over another body.
        payload_hash = hashlib.sha256(body).hexdigest()
        declared = headers.get("x-amz-content-sha256")
        if declared is not None:
            if "x-amz-content-sha256" not in signed_headers:
                raise _auth_fault("InvalidSignatureException",
                                  "The X-Amz-Content-SHA256 header must be among the signed headers.")
            if not hmac.compare_digest(declared.strip().lower(), payload_hash):
                raise _auth_fault("InvalidSignatureException",
                                  "The X-Amz-Content-SHA256 header does not match the SHA-256 of the body received.")

        canonical = "\n".join((
            method,
            _canonical_path(target),
            _canonical_query(target),
            "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed_headers),
            ";".join(signed_headers),
            payload_hash,
        ))
        string_to_sign = "\n".join((
            ALGORITHM,
            amz_date,
            "/".join(scope),
            hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        ))
        expected = hmac.new(self._signing_key(secret, date, region), string_to_sign.encode("utf-8"),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise _auth_fault("InvalidSignatureException", _SIGNATURE_MISMATCH)
        return key_id

    def _parse_authorization(self, authorization: str) -> tuple[str, tuple[str, str, str, str], list[str], str]:
        algorithm, _, rest = authorization.strip().partition(" ")
        if algorithm != ALGORITHM:
            raise _auth_fault("IncompleteSignatureException",
                              f"Unsupported AWS 'algorithm': '{algorithm}'. Only {ALGORITHM} is accepted.")
        fields: dict[str, str] = {}
        for part in rest.split(","):
            name, sep, value = part.strip().partition("=")
            if sep:
                fields[name] = value
        missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
        if missing:
            raise _auth_fault(
                "IncompleteSignatureException",
                "Authorization header requires " + ", ".join(f"'{name}'" for name in missing)
                + f" parameter{'s' if len(missing) > 1 else ''}. Authorization={authorization}",
            )
        credential = fields["Credential"].split("/")
        if len(credential) != 5 or not credential[0]:
            raise _auth_fault("IncompleteSignatureException",
                              f"Credential must have exactly 5 slash-delimited elements, e.g. "
                              f"keyid/date/region/service/term, got '{fields['Credential']}'")
        signed_headers = fields["SignedHeaders"].lower().split(";")
        scope = (credential[1], credential[2], credential[3], credential[4])
        return credential[0], scope, signed_headers, fields["Signature"]

    def _check_skew(self, amz_date: str, request_time: float) -> None:
        now = self._now()
        if request_time < now - self._max_skew:
            raise _auth_fault(
                "InvalidSignatureException",
                f"Signature expired: {amz_date} is now earlier than {_format_amz_date(now - self._max_skew)} "
                f"({_format_amz_date(now)} - 5 min.)",
            )
        if request_time > now + self._max_skew:
            raise _auth_fault(
                "InvalidSignatureException",
                f"Signature not yet current: {amz_date} is still later than {_format_amz_date(now + self._max_skew)} "
                f"({_format_amz_date(now)} + 5 min.)",
            )

    def _signing_key(self, secret: str, date: str, region: str) -> bytes:
        cache_key = (secret, date, region)
        key = self._keys.get(cache_key)
        if key is None:
            key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode("utf-8"), date), region), self._service),
                        "aws4_request")
            if len(self._keys) > 1024:
                self._keys.clear()  # bounded: dates and regions are attacker-chosen
            self._keys[cache_key] = key
        return key


def _parse_amz_date(text: str) -> float | None:
    """``"20261128T041500Z"`` → epoch seconds; ``None`` if malformed."""
    try:
        return float(calendar.timegm(time.strptime(text, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        return None


def _format_amz_date(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def _canonical_path(target: str) -> str:
    path = target.partition("?")[0] or "/"
    # botocore quotes the path once, keeping '/' and '~'; decode first so an already
    # percent-encoded path is not encoded twice.
    return quote(unquote(path), safe="/~")


def _canonical_query(target: str) -> str:
    query = target.partition("?")[2]
    if not query:
        return ""
    pairs = []
    for item in query.split("&"):
        name, _, value = item.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))
