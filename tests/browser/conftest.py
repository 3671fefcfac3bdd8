"""Browser fixtures: the site served on http://localhost:PORT, and Debian's chromium.

WebAuthn accepts `localhost` as a secure origin but not 127.0.0.1, so the live
server is always reached by that name.
"""

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
# The flags Debian's chromium needs headless as root on a machine with no internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class LiveServer:
    url: str
    app: object


@pytest.fixture
def live_server(app):
    """Serve the test app in a thread on a free port of localhost."""
    server = make_server("localhost", 0, app, threaded=True)
    url = f"http://localhost:{server.server_port}"
    app.config.update(PUBLIC_BASE_URL=url, WEBAUTHN_ORIGIN=url)

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(url=url, app=app)
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def console_errors():
    """Console errors and page errors seen during the test."""
    return []


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def _is_error(message):
    """A script error or CSP violation; a 4xx answer to a form post is expected."""
    if message.type != "error":
        return False
    if message.text.startswith("Failed to load resource: the server responded"):
        return "/static/" in message.location.get("url", "")
    return True


@pytest.fixture
def page(context, console_errors):
    page = context.new_page()
    page.on(
        "console",
        lambda message: _is_error(message) and console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    yield page
    # A Content-Security-Policy violation or a script error fails the test.
    assert console_errors == []


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


# What the pages are held to: axe-core's rules for WCAG 2.0 and 2.1, A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_SOURCE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MOBILE = {"width": 360, "height": 740}
# At phone width only these are saved, as <name>-mobile.png; the rest look alike.
MOBILE_SHOTS = {"signin", "security", "totp-1-scan", "backup-codes"}

# Until the app sends its own, the tests add the strict policy the site is built
# for, so an inline script or style fails a browser test through the console.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class ServerLog:
    """WSGI wrapper: records each request the live server gets, can slow some."""

    def __init__(self, app):
        self.wsgi_app = app.wsgi_app
        self.requests = []
        self.delays = {}

    def __call__(self, environ, start_response):
        line = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}"
        self.requests.append(line)
        time.sleep(self.delays.get(line, 0))

        def start_with_csp(status, headers, exc_info=None):
            names = {name.lower() for name, _ in headers}
            if "content-security-policy" not in names:
                headers.append(("Content-Security-Policy", STRICT_CSP))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_csp)

    def count(self, line):
        return self.requests.count(line)


@pytest.fixture(autouse=True)
def server_log(app):
    """Every request of the test, e.g. server_log.count("POST /signin")."""
    log = ServerLog(app)
    app.wsgi_app = log
    yield log
    app.wsgi_app = log.wsgi_app


def _axe_violations(page):
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE.read_text())
    return page.evaluate(
        """async (tags) => {
          const only = {runOnly: {type: "tag", values: tags}};
          const result = await axe.run(document, only);
          return result.violations.map((v) => ({
            id: v.id,
            help: v.help,
            nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary),
          }));
        }""",
        WCAG_TAGS,
    )


class Inspector:
    """Checks a page as it stands: axe-core, no sideways scrolling, a screenshot."""

    def __init__(self, page):
        self.page = page
        self.is_mobile = False

    def __call__(self, name=None):
        """Fail on any WCAG 2.1 A/AA violation or overflow; save `name`.png if asked."""
        violations = _axe_violations(self.page)
        assert violations == [], _describe(name, violations)

        width = self.page.evaluate(
            "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
        )
        assert width[0] <= width[1], f"{name}: page scrolls sideways {width}"

        if name and os.environ.get("MFASITE_SCREENSHOTS") == "1":
            self._screenshot(name)

    def _screenshot(self, name):
        if self.is_mobile:
            if name not in MOBILE_SHOTS:
                return
            name += "-mobile"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # A page is shot whole; an open dialog is shot as the viewport shows it.
        full = self.page.locator("dialog[open]").count() == 0
        # caret="hide" would leave a style attribute behind that htmx later
        # copies onto a swapped element, which the strict policy refuses.
        self.page.screenshot(
            path=SCREENSHOTS / f"{name}.png",
            full_page=full,
            animations="disabled",
            caret="initial",
        )

    def mobile(self):
        self.is_mobile = True
        self.page.set_viewport_size(MOBILE)


def _describe(name, violations):
    lines = [f"axe-core found violations on {name or 'the page'}:"]
    for violation in violations:
        lines.append(f"- {violation['id']}: {violation['help']}")
        lines.extend(f"    {node}" for node in violation["nodes"])
    return "\n".join(lines)


@pytest.fixture
def inspect(page):
    """Call inspect("name") wherever the page shows something worth checking."""
    return Inspector(page)


class VirtualKeys:
    """Chromium's virtual authenticators, driven over the DevTools protocol."""

    def __init__(self, page):
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})

    def add(self, presence=True, user_verification=False):
        """Plug in a USB CTAP2 key; `presence=False` never answers a touch."""
        options = {
            "protocol": "ctap2",
            "transport": "usb",
            "hasResidentKey": False,
            "hasUserVerification": user_verification,
            "isUserVerified": user_verification,
            "automaticPresenceSimulation": presence,
        }
        reply = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        return reply["authenticatorId"]

    def presence(self, authenticator, enabled):
        self.cdp.send(
            "WebAuthn.setAutomaticPresenceSimulation",
            {"authenticatorId": authenticator, "enabled": enabled},
        )

    def credentials(self, authenticator):
        reply = self.cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": authenticator}
        )
        return reply["credentials"]


@pytest.fixture
def virtual_keys(page):
    return VirtualKeys(page)


class Person:
    """What a person does in the browser before the part a test is about."""

    EMAIL = "grace@example.com"
    PASSWORD = "a long passphrase here"

    def __init__(self, page):
        self.page = page

    def sign_up(self):
        page = self.page
        page.goto("/signup")
        page.get_by_label("Email").fill(self.EMAIL)
        page.get_by_label("Password", exact=True).fill(self.PASSWORD)
        page.get_by_label("Confirm password").fill(self.PASSWORD)
        page.get_by_role("button", name="Sign up").click()
        expect(page.get_by_text(f"You are signed in as {self.EMAIL}")).to_be_visible()

    def sign_in(self, email=EMAIL, password=PASSWORD):
        page = self.page
        page.goto("/signin")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def person(page):
    return Person(page)
