"""Fixtures of the console tests: a real local service, real workers, the console, a real Chromium.

The browser is the Debian ``chromium`` package (``/usr/bin/chromium``, or
``$GREENFLOW_TEST_CHROMIUM``) driven by Playwright; ``.ci/run`` installs it when missing.
One browser serves the whole session (starting one takes about a second); each test gets
a fresh page. Screenshots of the pages land in ``tmp/artifacts/console/`` (or
``$GREENFLOW_TEST_ARTIFACTS``), kept out of git.
"""

from __future__ import annotations

import os
import re
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from greenflow.console import Console
from greenflow.testing import LocalTestEnvironment

from . import console_app

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = os.environ.get("GREENFLOW_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.environ.get("GREENFLOW_TEST_ARTIFACTS", os.path.join(REPO, "tmp", "artifacts", "console"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"the console tests need Chromium at {CHROMIUM} (Debian: apt-get install -y chromium; "
                    f"or set GREENFLOW_TEST_CHROMIUM)")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


class Shots:
    """Saves screenshots named after the test: ``<test>-<n>-<what>.png``."""

    def __init__(self, page: Page, test_name: str):
        self.page = page
        self.prefix = re.sub(r"[^\w.-]+", "_", test_name)
        self.count = 0
        os.makedirs(ARTIFACTS, exist_ok=True)

    def __call__(self, what: str) -> str:
        self.count += 1
        path = os.path.join(ARTIFACTS, f"{self.prefix}-{self.count}-{what}.png")
        self.page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1320, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the actions' confirmations: a person clicks OK
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def shots(page: Page, request: pytest.FixtureRequest) -> Shots:
    return Shots(page, request.node.name)


@pytest.fixture
def env() -> Iterator[LocalTestEnvironment]:
    # The wall clock, not virtual time: durations on the pages are real.
    with LocalTestEnvironment(virtual_time=False) as environment:
        yield environment


@pytest.fixture
def app_env(env: LocalTestEnvironment) -> Iterator[LocalTestEnvironment]:
    """``env`` with workers for :mod:`console_app`; gates of the step activities reset after."""
    env.workflow_worker(console_app.ApprovalWorkflow, console_app.Greeter)
    env.activity_worker(console_app.Steps())
    try:
        yield env
    finally:
        for gate in console_app.GATES.values():
            gate.set()
        console_app.GATES.clear()


@pytest.fixture
def console(env: LocalTestEnvironment) -> Iterator[Console]:
    """The console on the test's service, with the test workflows' code loaded, refreshing fast."""
    with Console(env.swf, workflow_classes=[console_app.ApprovalWorkflow, console_app.Greeter],
                 refresh=0.3) as running:
        yield running
