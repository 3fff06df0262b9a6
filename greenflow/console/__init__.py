"""The greenflow web console: executions, histories, stack traces and actions, in a browser.

It is an SWF client: everything it shows comes from the SWF API through greenflow's
botocore client, so it works against the local service and Amazon SWF alike. Install the
``console`` extra (``pip install "greenflow[console]"``), then run ``greenflow console``
(or ``python -m greenflow.console``)::

    greenflow console --endpoint http://127.0.0.1:7070 --workflows myapp.workflows

or embed it::

    from greenflow.console import Console
    with Console(greenflow.connect(), port=8080, workflow_classes=[OrderWorkflow]) as console:
        print(console.url)

Pages: domains; a domain's executions (open/closed, filters, counts, paging); one
execution (summary, input and result decoded, the timeline of its history, what it waits
on, the stack trace of its code, actions); task lists' backlogs; a form to start an
execution.
"""

from __future__ import annotations

from .. import _lazy
from ._auth import AuthConfigError, check_binding, parse_auth

_LAZY = {"Console": "._serve"}

__all__ = ["Console", "AuthConfigError", "check_binding", "parse_auth"]

# Deferred so that ``python -m greenflow.console`` (which imports this package first) can
# monkey-patch gevent before Flask, gevent's server and botocore are imported.
__getattr__, __dir__ = _lazy.lazy_attributes(globals(), _LAZY)
