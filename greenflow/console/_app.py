"""The console's pages: a Flask application over :class:`ConsoleBackend`.

Pages are server-rendered Jinja templates (autoescaped: history data is never trusted as
HTML). htmx, vendored in ``static/``, refreshes fragments while executions run and posts
the actions, so there is no JavaScript build and nothing is loaded from the network.
"""

from __future__ import annotations

import datetime as _dt
import json
import linecache
import urllib.parse
from typing import Any

from flask import Flask, Response, abort, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from greenflow.errors import ServiceUnavailableError, SWFError, UnknownResourceError, ValidationError

from ._backend import ConsoleBackend, InputError, workflow_type_of
from ._filters import PAGE_SIZES, FilterError, parse_filter
from ..swf import waiting_pollers
from ._timeline import build_timeline

__all__ = ["create_app"]

_CLOSE_STATUSES = ("COMPLETED", "FAILED", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW", "TIMED_OUT")


def _when(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} d {hours % 24} h"


def _source_line(location: str) -> str:
    """The source line at ``file:line`` of a stack trace, stripped ("" when unknown).

    The locations come from replaying the workflow's code in this process (frames of its
    greenlets), never from history data.
    """
    path, _, line = str(location).rpartition(":")
    return linecache.getline(path, int(line)).strip() if path and line.isdigit() else ""


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return str(value)


def create_app(backend: ConsoleBackend, *, refresh: float = 2.0, endpoint_label: str = "") -> Flask:
    """The console as a WSGI application.

    Args:
        backend: the SWF endpoint and workflow code the pages show.
        refresh: seconds between two refreshes of a live fragment.
        endpoint_label: what the header says the console is connected to.
    """
    app = Flask(__name__)
    app.jinja_env.filters["when"] = _when
    app.jinja_env.filters["seconds"] = _seconds
    app.jinja_env.globals.update(refresh=refresh, endpoint_label=endpoint_label, page_sizes=PAGE_SIZES,
                                 close_statuses=_CLOSE_STATUSES, source_line=_source_line,
                                 quote=lambda text: urllib.parse.quote(text, safe=""))

    def page(template: str, status: int = 200, **values: Any) -> Response:
        return make_response(render_template(template, **values), status)

    @app.errorhandler(SWFError)
    def swf_error(error: SWFError) -> Response:
        # greenflow's SWF client turns every botocore failure into an SWFError.
        if isinstance(error, ServiceUnavailableError):
            return _problem(502, f"the SWF endpoint is unavailable: {error}")
        status = 404 if isinstance(error, UnknownResourceError) else 400 if isinstance(error, ValidationError) else 502
        return _problem(status, f"SWF answered: {error}")

    def _problem(status: int, message: str) -> Response:
        if request.headers.get("HX-Request") == "true":
            return make_response(render_template("_message.html", message=message, failed=True), status)
        return page("error.html", status, message=message)

    def check_action() -> None:
        # Actions are posted by htmx from our own pages. A cross-site form cannot add the
        # HX-Request header, and a browser names the page that posted in Origin.
        if request.headers.get("HX-Request") != "true":
            abort(_problem(400, "actions are posted from the console's pages (HX-Request header missing)"))
        origin = request.headers.get("Origin")
        if origin and urllib.parse.urlsplit(origin).netloc != request.host:
            abort(_problem(403, f"an action posted from another site ({origin}) was refused"))

    # ------------------------------------------------------------ domains

    @app.get("/")
    def domains() -> Response:
        return page("domains.html", domains=backend.domains())

    # ------------------------------------------------------------ executions

    def executions_values(domain: str) -> dict[str, Any]:
        selection = parse_filter(request.args)
        infos, next_token = backend.executions(domain, selection)
        counts: dict[str, Any] = {}
        for closed in (False, True):
            other = parse_filter(request.args)
            other.closed = closed
            if not closed and (other.status or other.by_close):
                counts["open"] = None  # the filter only means something for closed executions
                continue
            counts["closed" if closed else "open"] = backend.count(other, domain)
        return dict(domain=domain, selection=selection, infos=infos, next_token=next_token, counts=counts,
                    types=backend.workflow_types(domain))

    @app.get("/domains/<domain>/")
    def executions(domain: str) -> Response:
        try:
            values = executions_values(domain)
        except FilterError as error:
            return page("executions.html", 400, domain=domain, error=str(error), selection=None, infos=[],
                        counts={}, types=[], next_token="")
        return page("executions.html", **values)

    @app.get("/domains/<domain>/rows")
    def execution_rows(domain: str) -> Response:
        try:
            values = executions_values(domain)
        except FilterError as error:
            return _problem(400, str(error))
        return page("_executions_live.html", **values)

    # ------------------------------------------------------------ one execution

    def target() -> tuple[str, str]:
        # Run IDs hold '/' (base64) and workflow IDs may hold '/' and ':' (AWS Flow's child
        # IDs), so both travel in the query string, not the path.
        workflow_id = request.args.get("workflow_id", "")
        run_id = request.args.get("run_id", "")
        if not workflow_id or not run_id:
            abort(_problem(400, "the address must name workflow_id and run_id"))
        return workflow_id, run_id

    def execution_values(domain: str, workflow_id: str, run_id: str) -> dict[str, Any]:
        description = backend.describe(domain, workflow_id, run_id)
        events = backend.history(domain, workflow_id, run_id)
        name, version = workflow_type_of(events)
        converter = backend.code.converter_for(name, version)
        timeline = build_timeline(events, lambda what: converter)
        info = description["executionInfo"]
        is_open = info.get("executionStatus") == "OPEN"
        stack = backend.code.stack_trace(events, name, version, workflow_id, run_id) if is_open else None
        now = max(filter(None, [timeline.last, _dt.datetime.now(_dt.timezone.utc) if is_open else None]))
        return dict(domain=domain, workflow_id=workflow_id, run_id=run_id, info=info, description=description,
                    timeline=timeline, is_open=is_open, stack=stack, now=now,
                    code_loaded=backend.code.class_for(name, version) is not None)

    @app.get("/domains/<domain>/execution")
    def execution(domain: str) -> ResponseReturnValue:
        workflow_id = request.args.get("workflow_id", "")
        if workflow_id and not request.args.get("run_id"):  # the newest run of the workflow ID
            latest = backend.latest_run(domain, workflow_id)
            if latest is None:
                return _problem(404, f"no execution with workflow ID {workflow_id!r} in domain {domain!r}")
            return redirect(url_for("execution", domain=domain, workflow_id=workflow_id, run_id=latest))
        workflow_id, run_id = target()
        return page("execution.html", **execution_values(domain, workflow_id, run_id))

    @app.get("/domains/<domain>/execution/live")
    def execution_live(domain: str) -> Response:
        workflow_id, run_id = target()
        return page("_execution_live.html", **execution_values(domain, workflow_id, run_id))

    @app.get("/domains/<domain>/execution/history.json")
    def history_json(domain: str) -> Response:
        workflow_id, run_id = target()
        events = backend.history(domain, workflow_id, run_id)
        text = json.dumps(events, indent=2, default=_json_default, ensure_ascii=False)
        return Response(text, mimetype="application/json")

    def action_done(message: str) -> Response:
        response = make_response(render_template("_message.html", message=message, failed=False))
        response.headers["HX-Trigger"] = "execution-changed"  # the live fragment refreshes at once
        return response

    @app.post("/domains/<domain>/execution/signal")
    def signal(domain: str) -> Response:
        workflow_id, run_id = target()
        check_action()
        try:
            backend.signal(domain, workflow_id, run_id, request.form.get("name", ""), request.form.get("input", ""))
        except InputError as error:
            return _problem(400, str(error))
        return action_done(f"Signal {request.form.get('name', '').strip()!r} sent.")

    @app.post("/domains/<domain>/execution/cancel")
    def cancel(domain: str) -> Response:
        workflow_id, run_id = target()
        check_action()
        backend.cancel(domain, workflow_id, run_id)
        return action_done("Cancellation requested: the workflow's code decides how it stops.")

    @app.post("/domains/<domain>/execution/terminate")
    def terminate(domain: str) -> Response:
        workflow_id, run_id = target()
        check_action()
        backend.terminate(domain, workflow_id, run_id, request.form.get("reason", ""))
        return action_done("Terminated.")

    # ------------------------------------------------------------ task lists and starting

    @app.get("/domains/<domain>/task-lists")
    def task_lists(domain: str) -> Response:
        named = [name.strip() for name in request.args.get("names", "").split(",") if name.strip()]
        pollers = waiting_pollers(backend.swf, domain)
        polled = sorted({name for name, _ in pollers.waiting})  # task lists the service knows of
        return page("task_lists.html", domain=domain, backlogs=backend.task_lists(domain, named + polled),
                    names=", ".join(named), pollers=pollers)

    @app.get("/domains/<domain>/start")
    def start_form(domain: str) -> Response:
        return page("start.html", domain=domain, types=backend.workflow_types(domain))

    @app.post("/domains/<domain>/start")
    def start(domain: str) -> Response:
        check_action()
        form = request.form
        try:
            workflow_id, run_id = backend.start(domain, form.get("type", ""), form.get("workflow_id", ""),
                                                form.get("task_list", ""), form.get("input", ""),
                                                form.get("tags", ""))
        except InputError as error:
            return _problem(400, str(error))
        response = make_response("")
        response.headers["HX-Redirect"] = url_for("execution", domain=domain, workflow_id=workflow_id,
                                                  run_id=run_id)
        return response

    return app
