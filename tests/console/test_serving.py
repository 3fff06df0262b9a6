"""Serving the console: the command, who may use it, signed calls, and refused posts (plain HTTP)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import botocore.session
import pytest

from greenflow._extensions import LOCAL_EXTENSION_TARGET
from greenflow.console import AuthConfigError, Console
from greenflow.local import LocalService
from greenflow.swf import CallRetryPolicy, connect
from greenflow.workflow import workflow_type_of

from .console_app import ApprovalWorkflow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY_ID, SECRET = "AKIDCONSOLETEST", "console-secret"


def _get(url: str, headers: dict | None = None, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _child_env() -> dict:
    variables = dict(os.environ)
    variables["PYTHONPATH"] = REPO + os.pathsep + variables.get("PYTHONPATH", "")
    variables["PYTHONUNBUFFERED"] = "1"
    variables["AWS_CONFIG_FILE"] = os.devnull  # never Amazon SWF from a test
    for name in ("GREENFLOW_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "GREENFLOW_CONSOLE_AUTH"):
        variables.pop(name, None)
    return variables


def test_the_command_serves_a_signed_service_and_stops_on_sigterm():
    # The service checks signatures; the console signs with the credentials in its environment.
    with LocalService(credentials={KEY_ID: SECRET}) as service:
        variables = _child_env()
        variables.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)
        process = subprocess.Popen(
            [sys.executable, "-m", "greenflow", "console", "--port", "0", "--endpoint", service.endpoint,
             "--domain", "shop"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=variables)
        try:
            line = process.stdout.readline()
            assert line.startswith("greenflow console on http://127.0.0.1:"), line + process.stderr.read()
            url = line.split()[3]
            assert url.endswith("/domains/shop/")
            session = botocore.session.get_session()
            session.set_credentials(KEY_ID, SECRET)
            signed = connect(endpoint=service.endpoint, session=session)
            signed.ensure_domain("shop")
            signed.ensure_workflow_type("shop", workflow_type_of(ApprovalWorkflow.run), task_list="orders")
            status, body = _get(url.replace("domains/shop/", ""))
            assert status == 200 and "shop" in body
            # The service's waiting-pollers extension is signed too, so it answers.
            status, body = _get(url + "task-lists")
            assert status == 200 and "Waiting pollers" in body and "did not tell" not in body
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0


def test_unsigned_calls_to_a_secured_service_show_the_refusal():
    with LocalService(credentials={KEY_ID: SECRET}) as service:
        session = botocore.session.get_session()
        session.set_credentials(KEY_ID, "wrong-secret")
        with Console(connect(endpoint=service.endpoint, session=session)) as console:
            status, body = _get(console.url)
    assert status == 502 and "SWF answered" in body and "signature" in body.lower()


def test_the_command_refuses_to_listen_beyond_loopback_without_auth():
    result = subprocess.run([sys.executable, "-m", "greenflow.console", "--host", "0.0.0.0", "--port", "0",
                             "--endpoint", "http://127.0.0.1:9"], capture_output=True, text=True,
                            env=_child_env(), timeout=60)
    assert result.returncode == 2
    assert "--auth USER:PASSWORD" in result.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com"])
def test_non_loopback_needs_auth(host):
    with LocalService() as service, pytest.raises(AuthConfigError, match="no login"):
        Console(connect(endpoint=service.endpoint), host=host)


def test_basic_auth_guards_every_page():
    with LocalService() as service, Console(connect(endpoint=service.endpoint), auth=("ops", "s3cret")) as console:
        status, body = _get(console.url)
        assert status == 401 and "--auth" in body
        status, _ = _get(console.url, {"Authorization": "Basic b3BzOndyb25n"})  # ops:wrong
        assert status == 401
        status, body = _get(console.url, {"Authorization": "Basic b3BzOnMzY3JldA=="})  # ops:s3cret
        assert status == 200 and "Domains" in body


def test_actions_are_only_taken_from_the_console_pages():
    with LocalService() as service, Console(connect(endpoint=service.endpoint)) as console:
        target = console.url + "domains/shop/execution/cancel?workflow_id=order-1&run_id=r"
        status, body = _get(target, data=b"")
        assert status == 400 and "HX-Request" in body
        status, body = _get(target, {"HX-Request": "true", "Origin": "http://evil.example"}, data=b"")
        assert status == 403 and "another site" in body


def test_unknown_pages_and_missing_runs_are_clear_errors():
    with LocalService() as service, Console(connect(endpoint=service.endpoint)) as console:
        connect(endpoint=service.endpoint).ensure_domain("shop")
        missing = "domains/shop/execution?workflow_id=a:b/c&run_id=" + urllib.parse.quote("a/b=")
        status, body = _get(console.url + missing)
        assert status == 404 and "SWF answered" in body
        status, body = _get(console.url + "domains/nope/")
        assert status == 404 and "nope" in body
        status, body = _get(console.url + "domains/shop/?since=yesterday")
        assert status == 400 and "since: &#39;yesterday&#39; is not a date" in body


def test_the_pollers_extension_needs_a_signature_on_a_secured_service():
    with LocalService(credentials={KEY_ID: SECRET}) as service:
        status, body = _get(service.endpoint + "/", {"X-Amz-Target": LOCAL_EXTENSION_TARGET,
                                                     "Content-Type": "application/x-amz-json-1.0"},
                            data=b'{"domain": "shop"}')
    assert status in (400, 403) and "taskLists" not in body


def test_an_unreachable_endpoint_is_a_clear_page():
    swf = connect(endpoint="http://127.0.0.1:9", retry=CallRetryPolicy(max_attempts=2, base=0.001))
    with Console(swf) as console:
        status, body = _get(console.url)
    assert status == 502 and "the SWF endpoint is unavailable" in body and "127.0.0.1:9" in body
