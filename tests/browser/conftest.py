"""Browser tests of the web app: Debian's chromium driven by Playwright, against a started
local stack (``agentcron local`` as a subprocess, as a user starts it).

Chromium only ever talks to loopback (the flags from NOTES.md). The app under test is the
built ``web/dist`` (``make web``; ``make test`` builds it first). Each test signs in as a
user of its own, so tests share one stack and one browser and never see each other's data.
Screenshots of every page, desktop and phone width, go to tests/browser/screenshots/.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from agentcron_local.resources import REPO_ROOT
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.e2e.conftest import RunningStack, local_stack_process

CHROMIUM = "/usr/bin/chromium"
LOOPBACK_ONLY = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]
DIST = REPO_ROOT / "web" / "dist"
AXE = REPO_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).parent / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    if not (DIST / "index.html").is_file():
        pytest.fail("web/dist is not built: run `make web` (npm ci, lint, typecheck, build) first")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does)")
    with local_stack_process(tmp_path_factory.mktemp("web-stack")) as running:
        yield running


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LOOPBACK_ONLY)
    yield browser
    browser.close()


@dataclass
class User:
    """A signed-in person: a browser page of their own and an API client with their token."""

    name: str
    token: str
    page: Page
    base_url: str

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.base_url}{path}", headers=headers, timeout=10, **kwargs)

    def create_task(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "task", "prompt": "say hello", "schedule": {"type": "manual"}, **fields}
        response = self.api("POST", "/v1/tasks", json=body)
        assert response.status_code == 201, response.text
        task: dict[str, Any] = response.json()
        return task


class SignIn:
    """``sign_in("alice")``: a new browser context signed in through the page, as a person does."""

    def __init__(self, browser: Browser, stack: RunningStack) -> None:
        self.browser, self.stack = browser, stack
        self.contexts: list[BrowserContext] = []

    def __call__(self, prefix: str, viewport: dict[str, int] = DESKTOP) -> User:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        context = self.browser.new_context(viewport=viewport, base_url=self.stack.url)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/")
        page.get_by_label("User name").fill(name)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Tasks", exact=True).wait_for()
        token = page.evaluate("sessionStorage.getItem('agentcron.token')")
        assert isinstance(token, str) and token.count(".") == 2
        return User(name, token, page, self.stack.url)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def sign_in(browser: Browser, web_stack: RunningStack) -> Iterator[SignIn]:
    signer = SignIn(browser, web_stack)
    yield signer
    signer.close()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now.

    axe is evaluated through the DevTools protocol, which the page's CSP does not govern
    (a <script> tag would be refused, as it should be)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    results: dict[str, Any] = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
