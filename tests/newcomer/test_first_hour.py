"""A newcomer's first hour, scripted: what someone following README.rst does, in clean processes.

Each test runs a real program in a subprocess with a private ``HOME`` and no greenflow or
AWS configuration except what the test sets, the way a new user's machine looks. The
mistakes a newcomer makes must end in seconds with an error that says what to do, never
in a hang; an AWS developer's usual environment must not send anything to AWS.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HELLO = os.path.join(REPO, "examples", "hello_world.py")
#: Far below the 60 s result() timeout of hello_world.py: a hang shows as a subprocess timeout.
QUICK = 30


@pytest.fixture
def clean_env(tmp_path):
    """A fresh machine: own HOME, no greenflow or AWS variables, this checkout importable."""
    home = tmp_path / "home"
    home.mkdir()
    variables = {name: value for name, value in os.environ.items()
                 if not name.startswith(("GREENFLOW_", "AWS_"))}
    variables.update(HOME=str(home), PYTHONPATH=REPO, PYTHONUNBUFFERED="1")
    variables.pop("XDG_DATA_HOME", None)
    return variables


def run(args, env, cwd, timeout=QUICK):
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def without_patch(source: str) -> str:
    lines = [line for line in source.splitlines()
             if line.strip() not in ("from greenflow.swf import patch_gevent", "patch_gevent()")]
    return "\n".join(lines) + "\n"


def test_hello_world_without_the_gevent_patch_says_which_lines_to_add(clean_env, tmp_path):
    program = tmp_path / "hello_nopatch.py"
    with open(HELLO, encoding="utf-8") as stream:
        program.write_text(without_patch(stream.read()))
    assert "patch_gevent" not in program.read_text()
    result = run([sys.executable, str(program)], clean_env, tmp_path)
    assert result.returncode != 0
    assert "GeventNotPatchedError: ActivityWorker runs on gevent" in result.stderr
    assert "    from greenflow.swf import patch_gevent\n    patch_gevent()" in result.stderr
    assert "Hello World!" not in result.stdout


def test_aws_developer_environment_stays_on_the_embedded_service(clean_env, tmp_path):
    # An AWS developer: a region in ~/.aws/config and in the environment, credentials set.
    # hello_world.py must still run on the embedded service (no network to AWS here: a
    # single call to Amazon SWF would fail) and say where it runs.
    aws = tmp_path / "home" / ".aws"
    aws.mkdir()
    (aws / "config").write_text("[default]\nregion = eu-west-1\n")
    (aws / "credentials").write_text("[default]\naws_access_key_id = AKIAFAKE\naws_secret_access_key = x\n")
    clean_env.update(AWS_REGION="eu-west-1", AWS_DEFAULT_REGION="eu-west-1")
    wrapper = ("from gevent import monkey; monkey.patch_all()\n"
               "import logging, runpy; logging.basicConfig(level=logging.INFO)\n"
               f"runpy.run_path({HELLO!r}, run_name='__main__')\n")
    result = run([sys.executable, "-c", wrapper], clean_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Hello World!" in result.stdout
    assert "greenflow talks to the embedded local SWF service at http://127.0.0.1:" in result.stderr
    assert "AWS_REGION and AWS_DEFAULT_REGION do not choose Amazon SWF" in result.stderr
    assert "amazonaws.com" not in result.stderr
    assert (tmp_path / "home" / ".local" / "share" / "greenflow" / "greenflow.db").exists()


USER_ACTIVITIES = '''
from greenflow.activity import activities, activity
from greenflow.workflow import WorkflowDefinition, execute


@activities(task_list="shop", schedule_to_start_timeout=60, start_to_close_timeout=60)
class Shop:
    @activity(version="1.0")
    def price(self, item: str) -> int:
        return len(item)


class Checkout(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=60)
    def total(self, items: list[str]) -> int:
        return sum(Shop.price(item) for item in items)
'''

USER_TEST = '''
from shop import Checkout, Shop


def test_checkout(greenflow_env):
    greenflow_env.workflow_worker(Checkout)
    greenflow_env.activity_worker(Shop())   # polls "shop", the task list Shop declares
    handle = greenflow_env.client().start(Checkout.total, ["tea", "milk"])
    assert handle.result(timeout=20) == 7
'''


@pytest.mark.parametrize("patched", [False, True])
def test_first_pytest_run_with_the_plugin(clean_env, tmp_path, patched):
    # README "Testing": enable the plugin in conftest.py, write a test. Unpatched, the
    # first activity worker refuses at once, naming the lines for conftest.py; patched,
    # the test passes, with the activities polled on the task list their class declares.
    (tmp_path / "shop.py").write_text(USER_ACTIVITIES)
    (tmp_path / "test_shop.py").write_text(USER_TEST)
    conftest = 'pytest_plugins = ["greenflow.testing.pytest_plugin"]\n'
    if patched:
        conftest = "from greenflow.swf import patch_gevent\npatch_gevent()\n" + conftest
    (tmp_path / "conftest.py").write_text(conftest)
    clean_env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), REPO])
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_shop.py"],
                 clean_env, tmp_path)
    if patched:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1 passed" in result.stdout
    else:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "GeventNotPatchedError" in result.stdout and "at the top of conftest.py" in result.stdout
        assert "from greenflow.swf import patch_gevent" in result.stdout


def test_the_cli_with_an_aws_environment_says_it_uses_the_embedded_service(clean_env, tmp_path):
    # The README's CLI flow, on a machine with AWS settings: the command still talks to
    # the embedded local service and says so at INFO, before or after the command name.
    clean_env.update(AWS_REGION="eu-west-1", GREENFLOW_DB=str(tmp_path / "cli.db"))
    result = run([sys.executable, "-m", "greenflow", "list", "--log-level", "INFO"], clean_env, tmp_path)
    # Nothing has registered the default domain yet: the command says so, and how.
    assert result.returncode == 2, result.stderr
    assert "domain 'greenflow' does not exist yet: workers register their domain when they start" in result.stderr
    assert "INFO greenflow.swf: greenflow talks to the embedded local SWF service" in result.stderr
    assert "AWS_REGION does not choose Amazon SWF" in result.stderr
    assert "WARNING" not in result.stderr
