"""Endpoint resolution, client configuration and the embedded default of greenflow.swf.connect."""

from __future__ import annotations

import os
import subprocess
import sys

import botocore.session
import pytest

import greenflow.local
from greenflow.swf import SWFClient, as_client, client_config, connect, default_db_path, embedded_service
from greenflow.swf import _child, _connect


class FakeService:
    """Stands in for LocalService: records its arguments, 'listens' on a made-up port."""

    instances = []

    def __init__(self, db_path=":memory:", host="127.0.0.1", port=0, **kwargs):
        self.db_path, self.host, self.port = db_path, host, port
        self.started = self.stopped = False
        FakeService.instances.append(self)

    def start(self):
        self.started = True
        self.endpoint = f"http://127.0.0.1:{40000 + len(FakeService.instances)}"
        return self

    def stop(self):
        self.stopped = True

    @property
    def running(self):
        return self.started and not self.stopped


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No endpoint/region in the environment, and an empty AWS configuration."""
    for name in ("GREENFLOW_ENDPOINT", "GREENFLOW_DB", "GREENFLOW_EMBEDDED", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
                 "XDG_DATA_HOME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "aws-config"
    config.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(greenflow.local, "LocalService", FakeService, raising=False)
    monkeypatch.setattr(_child, "ChildService", FakeService)
    monkeypatch.setattr(_connect, "_embedded", {})
    FakeService.instances.clear()


def test_explicit_endpoint_wins(monkeypatch):
    monkeypatch.setenv("GREENFLOW_ENDPOINT", "http://127.0.0.1:1111")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    client = connect("http://127.0.0.1:2222", region="ap-south-1")
    assert client.endpoint == "http://127.0.0.1:2222"
    assert client.local_service is None and not FakeService.instances


def test_endpoint_without_scheme_means_http():
    assert connect("127.0.0.1:2222").endpoint == "http://127.0.0.1:2222"


def test_env_endpoint_beats_region(monkeypatch):
    monkeypatch.setenv("GREENFLOW_ENDPOINT", "http://127.0.0.1:1111")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    client = connect()
    assert client.endpoint == "http://127.0.0.1:1111"
    assert client.region == "eu-west-1"  # the region is still used for signing


def test_local_endpoint_gets_default_region_and_dummy_credentials():
    client = connect("http://127.0.0.1:2222")
    assert client.region == "us-east-1"
    credentials = client.botocore._request_signer._credentials
    assert credentials.access_key == "greenflow"


@pytest.mark.parametrize("how", ["argument", "GREENFLOW_REGION"])
def test_region_means_amazon_swf(monkeypatch, tmp_path, how, caplog):
    caplog.set_level("INFO", logger="greenflow.swf")
    if how == "argument":
        client = connect(region="eu-west-1")
    else:
        monkeypatch.setenv(how, "eu-west-1")
        client = connect()
    assert client.endpoint == "https://swf.eu-west-1.amazonaws.com"
    assert client.local_service is None and not FakeService.instances
    assert "greenflow talks to Amazon SWF in eu-west-1 (no AWS credentials found" in caplog.text


@pytest.mark.parametrize("how", ["AWS_REGION", "AWS_DEFAULT_REGION", "config file"])
def test_aws_configuration_alone_never_means_amazon_swf(monkeypatch, tmp_path, how, caplog):
    # An AWS developer's usual setup must not send hello_world.py to their AWS account.
    caplog.set_level("INFO", logger="greenflow.swf")
    if how == "config file":
        (tmp_path / "aws-config").write_text("[default]\nregion = eu-west-1\n")
    else:
        monkeypatch.setenv(how, "eu-west-1")
    client = connect()
    assert client.local_service is FakeService.instances[0]
    assert "greenflow talks to the embedded local SWF service at http://127.0.0.1:" in caplog.text
    if how != "config file":
        assert f"{how} does not choose Amazon SWF: pass region= or set GREENFLOW_REGION" in caplog.text


def test_amazon_swf_log_names_credentials_and_account(monkeypatch, tmp_path, caplog):
    caplog.set_level("INFO", logger="greenflow.swf")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    connect(region="eu-west-1")
    assert "account not looked up" in caplog.text and "credentials from env, access key AKIA…1234" in caplog.text
    caplog.clear()
    (tmp_path / "aws-config").write_text(
        "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/swf-worker\nsource_profile = base\n"
        "[profile base]\n")
    (tmp_path / "aws-credentials").write_text("[base]\naws_access_key_id = AKIABASE00009999\n"
                                              "aws_secret_access_key = s\n")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    session = botocore.session.Session(profile="ops")
    connect(region="eu-west-1", session=session)
    assert "account 123456789012, role arn:aws:iam::123456789012:role/swf-worker" in caplog.text


def test_endpoint_is_logged(caplog):
    caplog.set_level("INFO", logger="greenflow.swf")
    connect("http://127.0.0.1:2222")
    assert "greenflow talks to the SWF service at http://127.0.0.1:2222" in caplog.text


def test_explicit_region_beats_env(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert connect(region="us-west-2").region == "us-west-2"


def test_session_region_is_used():
    session = botocore.session.get_session()
    session.set_config_variable("region", "sa-east-1")
    assert connect(session=session).region == "sa-east-1"


def test_embedded_default(tmp_path):
    client = connect()
    service = client.local_service
    assert isinstance(service, FakeService) and service.started
    assert service.host == "127.0.0.1" and service.port == 0
    assert service.db_path == str(tmp_path / "home" / ".local" / "share" / "greenflow" / "greenflow.db")
    assert os.path.isdir(tmp_path / "home" / ".local" / "share" / "greenflow")
    assert client.endpoint == service.endpoint
    assert client.region == "us-east-1"
    # One service per database file per process.
    assert connect().local_service is service


def test_embedded_db_from_env_and_memory(monkeypatch, tmp_path):
    monkeypatch.setenv("GREENFLOW_DB", str(tmp_path / "x" / "flows.db"))
    assert connect().local_service.db_path == str(tmp_path / "x" / "flows.db")
    first = connect(db_path=":memory:").local_service
    second = connect(db_path=":memory:").local_service
    assert first is not second and first.db_path == ":memory:"


def test_default_db_path(monkeypatch, tmp_path):
    assert default_db_path() == str(tmp_path / "home" / ".local" / "share" / "greenflow" / "greenflow.db")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == str(tmp_path / "data" / "greenflow" / "greenflow.db")


def test_embedded_services_stop_at_exit(monkeypatch):
    registered = []
    monkeypatch.setattr(_connect.atexit, "register", lambda fn, *args: registered.append((fn, args)))
    service = embedded_service(":memory:")
    assert len(registered) == 1
    fn, args = registered[0]
    fn(*args)
    assert service.stopped


def test_client_config():
    config = client_config()
    assert config.read_timeout >= 70
    assert config.connect_timeout <= 10
    assert config.max_pool_connections >= 500
    assert config.retries["total_max_attempts"] == 1
    assert client_config(read_timeout=90).read_timeout == 90
    with pytest.raises(ValueError, match="70"):
        client_config(read_timeout=60)
    client = connect("http://127.0.0.1:2222")
    assert client.botocore.meta.config.read_timeout >= 70


def test_as_client():
    client = connect("http://127.0.0.1:2222")
    assert as_client(client) is client
    wrapped = as_client(client.botocore)
    assert isinstance(wrapped, SWFClient) and wrapped.botocore is client.botocore
    s3 = botocore.session.get_session().create_client("s3", region_name="us-east-1")
    with pytest.raises(TypeError):
        as_client(s3)
    with pytest.raises(TypeError):
        as_client("swf")


def test_patch_gevent_importable_before_botocore():
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('error')\n"
        "import greenflow.swf\n"
        "assert 'botocore' not in sys.modules\n"
        "assert greenflow.swf.patch_gevent() is True\n"
        "assert greenflow.swf.patch_gevent() is False\n"
        "import socket, gevent.socket\n"
        "assert socket.socket is gevent.socket.socket\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_patch_gevent_warns_when_botocore_came_first():
    code = (
        "import warnings, botocore.session\n"
        "import greenflow.swf\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    assert greenflow.swf.patch_gevent() is True\n"
        "assert any('botocore' in str(w.message) for w in caught), [str(w.message) for w in caught]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
