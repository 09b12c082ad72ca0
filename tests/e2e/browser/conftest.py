"""The portal in a real browser: Debian's Chromium driven by Playwright, against `arcollect local up`.

Chromium is the machine's own (/usr/bin/chromium, which .ci/run installs); Playwright never downloads a
browser here. Every test gets a fresh browser context, and `shot("step")` keeps a full-page screenshot
as `.artifacts/screenshots/<test name>-<step>.png`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from arcollect.contract import Output
from tests.e2e.conftest import REPO, RunningStack, recent_send_morning

CHROMIUM = Path(os.environ.get("ARCOLLECT_CHROMIUM", "/usr/bin/chromium"))
# The closed network refuses Chromium's background connections: turn every one of them off.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / ".artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"

# A recent working morning (as in tests/e2e/test_local_path.py): the emailed links still work today.
TICK_AT = recent_send_morning()

Shot = Callable[[str], Path]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless. Playwright's launch() gives it a fresh, empty --user-data-dir
    (a temporary profile it deletes on close; it refuses the flag in `args`)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is absent: install Debian's chromium (`make browser`; `make test` tries)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run the portal in a real browser, never skip it
        pytest.skip(message)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies, the pages' CSP enforced) for one test."""
    ctx = browser.new_context(accept_downloads=True)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture
def shot(request: pytest.FixtureRequest, page: Any) -> Shot:
    """`shot("step")` saves a full-page screenshot of `page` and returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")

    def take(step: str, target: Any = None) -> Path:
        path = SCREENSHOTS / f"{name}-{step}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path

    return take


def run_axe(page: Any) -> dict[str, Any]:
    """Inject the pinned axe-core into `page` and return `axe.run()`'s results.

    The portal's CSP (default-src 'none') refuses every script, injected ones included, so the page
    must come from a context made with `bypass_csp=True` (only for this check)."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `make dev` (npm ci installs the pinned axe-core)")
    page.add_script_tag(path=str(AXE_JS))
    results: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return results


def serious_violations(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]


def save_axe_report(request: pytest.FixtureRequest, results: dict[str, Any]) -> Path:
    folder = ARTIFACTS / "axe"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    path = folder / f"{name}.json"
    summary = [
        {
            "id": v["id"],
            "impact": v.get("impact"),
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]],
        }
        for v in results["violations"]
    ]
    path.write_text(json.dumps({"url": results.get("url"), "violations": summary}, indent=2))
    return path


# --- the local stack with a tiny generated company, reminded once -------------------------------


@pytest.fixture(scope="module")
def portal_url(local_stack: RunningStack) -> str:
    url: str = local_stack.outputs[Output.PORTAL_URL]
    return url if url.endswith("/") else url + "/"


@pytest.fixture(scope="module")
def company(local_stack: RunningStack) -> Path:
    out = local_stack.workdir / "company"
    local_stack.arcollect("generate", "--customers", "6", "--months", "2", "--seed", "3", "--out", str(out))
    return out


@pytest.fixture(scope="module")
def ingested(local_stack: RunningStack, company: Path) -> dict[str, Any]:
    return {
        kind: local_stack.json("ingest", str(company / f"{kind}.csv"), "--kind", kind)
        for kind in ("customers", "invoices")
    }


@pytest.fixture(scope="module")
def emails(local_stack: RunningStack, ingested: dict[str, Any]) -> list[dict[str, Any]]:
    """The reminders one dunning tick put in the outbox, each with a portal link."""
    local_stack.json("tick", "dunning", "--at", TICK_AT)
    outbox: list[dict[str, Any]] = local_stack.json("outbox") or []
    if not outbox:
        pytest.fail("the dunning tick sent no email: the generated company has nothing overdue on " + TICK_AT)
    return outbox


def link_in(email: dict[str, Any]) -> str:
    """The `<PortalUrl>/l/<token>` line of a reminder's text."""
    return next(word for word in email["text"].split() if "/l/" in word)


@pytest.fixture(scope="module")
def email(emails: list[dict[str, Any]]) -> dict[str, Any]:
    return emails[0]


@pytest.fixture(scope="module")
def link(email: dict[str, Any]) -> str:
    return link_in(email)


# --- the staff console ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def staff_url(local_stack: RunningStack) -> str:
    """`<PortalUrl>/staff`, as the local stack names it in outputs.json (no trailing slash)."""
    url: str = local_stack.outputs["Local"]["StaffConsole"]
    return url.rstrip("/")


def staff_sign_in(page: Any, staff_url: str, username: str, password: str | None = None) -> Any:
    """Sign in at `/staff/sign-in` the way a person does (user name, password, the button, then the
    code of the authenticator app when the console asks for it); returns the page. Without `password`:
    the seeded demo password of the local stack's team, whose authenticator key is the demo key."""
    import time

    from arcollect_cli.local.cognito import totp
    from arcollect_cli.local.spec import DEMO_STAFF_PASSWORD, DEMO_STAFF_TOTP_SECRET

    page.goto(f"{staff_url}/sign-in")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(DEMO_STAFF_PASSWORD if password is None else password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    code = page.get_by_label("Code from your authenticator app")
    if code.count():
        code.fill(totp(DEMO_STAFF_TOTP_SECRET, time.time()))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    return page
