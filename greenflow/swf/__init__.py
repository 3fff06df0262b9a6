"""greenflow's connection to SWF: the one place that builds botocore clients.

:func:`connect` finds the service (an endpoint, Amazon SWF in a region, or the embedded
local service) and returns an :class:`SWFClient`, which every worker and client takes.

:func:`patch_gevent` is importable without importing botocore (everything else loads on
first use), so an entry point can run ``greenflow.swf.patch_gevent()`` first thing.
"""

from __future__ import annotations

from .. import _lazy
from ._gevent import PATCH_LINES, is_patched, patch_gevent, require_patched

_LAZY = {
    "SWFClient": "._client",
    "as_client": "._connect",
    "connect": "._connect",
    "client_config": "._connect",
    "default_db_path": "._connect",
    "embedded_service": "._connect",
    "CallRetryPolicy": "._retry",
    "RetryPolicy": "._retry",  # the old name of CallRetryPolicy
    "NO_RETRY": "._retry",
    "is_retryable": "._retry",
    "map_client_error": "._errors",
    "waiting_pollers": "._pollers",
}

__all__ = ["patch_gevent", "is_patched", "require_patched", "PATCH_LINES", *_LAZY]


# Deferred so that importing greenflow.swf does not import botocore before patching.
__getattr__, __dir__ = _lazy.lazy_attributes(globals(), _LAZY)
