"""One service per database file: a second service on the file is refused with the first's
address, and connect() attaches to another process's embedded service instead of starting
a second one on the same database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from greenflow.local import DatabaseInUseError, LocalService, current_owner
from greenflow.swf import connect
from greenflow.swf._connect import AttachedService

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "AWS_CONFIG_FILE": "/nonexistent/greenflow-test-config", "PYTHONPATH": ROOT}
for _name in ("GREENFLOW_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "GREENFLOW_EMBEDDED"):
    ENV.pop(_name, None)


def test_second_service_on_one_file_is_refused(tmp_path):
    db = str(tmp_path / "one.db")
    assert current_owner(db) is None
    with LocalService(db) as first:
        owner = current_owner(db)
        assert owner is not None and owner.pid == os.getpid() and owner.endpoint == first.endpoint
        with pytest.raises(DatabaseInUseError, match=first.endpoint.replace(".", r"\.")):
            LocalService(db).start()
        assert first.running
    assert current_owner(db) is None
    with LocalService(db):  # free again once the first stopped
        pass


def test_server_command_refuses_a_file_in_use(tmp_path):
    db = str(tmp_path / "cli.db")
    with LocalService(db) as first:
        result = subprocess.run([sys.executable, "-m", "greenflow", "server", "--port", "0", "--db", db],
                                capture_output=True, text=True, timeout=60, cwd=ROOT, env=ENV)
        assert result.returncode == 1
        assert "in use by another greenflow service" in result.stderr and first.endpoint in result.stderr


def test_connect_attaches_to_another_process_embedded_service(tmp_path, caplog):
    db = str(tmp_path / "shared.db")
    owner_script = (
        "import sys\n"
        "from greenflow.swf import connect\n"
        f"swf = connect(db_path={db!r})\n"
        "swf.ensure_domain('from-owner')\n"
        "print(swf.endpoint, flush=True)\n"
        "sys.stdin.read()\n"  # until the test closes our stdin
    )
    owner = subprocess.Popen([sys.executable, "-c", owner_script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, cwd=ROOT, env=ENV)
    try:
        endpoint = owner.stdout.readline().strip()
        assert endpoint.startswith("http://127.0.0.1:")
        with caplog.at_level("INFO", logger="greenflow.swf"):
            client = connect(db_path=db)
        # Said once, at INFO: a warning on every command of a normal setup is noise.
        attached = [r for r in caplog.records if "using the greenflow service of process" in r.getMessage()]
        assert [r.levelname for r in attached] == ["INFO"]
        try:
            service = client.local_service
            assert isinstance(service, AttachedService) and service.running
            assert client.endpoint == endpoint
            # Same service, same data: what the owner registered is visible, and ours to it.
            client.ensure_domain("from-attached")
            names = {d["name"] for d in client.call("ListDomains", registrationStatus="REGISTERED")["domainInfos"]}
            assert names == {"from-owner", "from-attached"}
        finally:
            client.close()
            service.stop()  # not ours: does nothing
        assert service.running
    finally:
        owner.stdin.close()
        owner.wait(60)
        owner.stdout.close()
    assert not service.running and current_owner(db) is None


def test_lock_of_a_killed_service_does_not_block_a_restart(tmp_path):
    db = str(tmp_path / "killed.db")
    script = (
        "import sys, time\n"
        "from greenflow.local import LocalService\n"
        f"service = LocalService({db!r}).start()\n"
        "print(service.endpoint, flush=True)\n"
        "time.sleep(120)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=ENV)
    try:
        endpoint = process.stdout.readline().strip()
        assert current_owner(db).endpoint == endpoint
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    assert os.path.exists(db + ".lock") and current_owner(db) is None
    with LocalService(db) as service:
        assert current_owner(db).endpoint == service.endpoint
