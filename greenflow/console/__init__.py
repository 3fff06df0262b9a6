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

from ._auth import AuthConfigError, check_binding, parse_auth
from ._serve import Console

__all__ = ["Console", "AuthConfigError", "check_binding", "parse_auth"]
