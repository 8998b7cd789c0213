"""A real browser on `carriertui serve --portal`: Debian's headless Chromium, driven by
Playwright (no browser of Playwright's own is downloaded: executable_path). The contact logs in
by typing into the page's terminal (xterm.js), reads the account page, downloads the Summary
as CSV through the portal's Export (Textual's file delivery: no file on the server), and
leaves; the logout is audited and no process is left running.

The terminal draws on a canvas (WebGL), so its text is read from xterm.js's own buffer: the
page's script keeps its terminal in a closure, and the test's copy of the script (intercepted
with page.route) also hands it to ``window``. Nothing else of the page is changed."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import pytest
from playwright import sync_api as playwright

from tests.functional.portal_harness import CONTACT_EMAIL, CONTACT_PASSWORD, seed_portal
from tests.unit.web_harness import audit_entries, serving, wait_until

CHROMIUM = "/usr/bin/chromium"
# Playwright and textual-serve come with the dev extra (make test): missing, the test fails.
pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason="Debian's chromium is not installed: apt-get install chromium (.ci/run does)",
)

# textual-serve 1.1.3's textual.js: where it creates its terminal for the page.
CREATES_TERMINAL = "const t=new w(e,{ping:r});"
SCREEN_TEXT = """() => {
    const terminal = window.__carriertui_terminal.terminal;
    const buffer = terminal.buffer.active;
    const lines = [];
    for (let row = 0; row < terminal.rows; row++) {
        lines.push(buffer.getLine(buffer.viewportY + row).translateToString(true));
    }
    return lines.join("\\n");
}"""


def _expose_terminal(route) -> None:
    response = route.fetch()
    script = response.text()
    assert CREATES_TERMINAL in script, "textual-serve's textual.js changed: update the test"
    exposed = CREATES_TERMINAL + "window.__carriertui_terminal=t;"
    route.fulfill(response=response, body=script.replace(CREATES_TERMINAL, exposed))


def _wait_for_text(page, *texts: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        if page.evaluate("() => Boolean(window.__carriertui_terminal)"):
            screen = page.evaluate(SCREEN_TEXT)
            if all(text in screen for text in texts):
                return screen
        page.wait_for_timeout(100)
    raise AssertionError(f"{texts!r} not on the page's terminal:\n{screen}")


def _portal_entries(url: str, action: str) -> list:
    start = {"LOGIN": "Portal login of ", "LOGOUT": "Portal logout of "}[action]
    return [e for e in audit_entries(url) if e.action == action and e.message.startswith(start)]


def test_chromium_logs_in_reads_the_account_and_downloads_the_export(tmp_path: Path) -> None:
    # Behind a proxy on loopback (trusted), whose X-Forwarded-For names a whitelisted address.
    url, contact_id = seed_portal(tmp_path, whitelist="203.0.113.0/24")
    downloads = tmp_path / "downloads"
    with serving(
        tmp_path, url, "--portal", env={"CARRIERTUI_WEB_TRUSTED_PROXIES": "127.0.0.1"}
    ) as served:
        with playwright.sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                # About 80x24 cells at the page's 16 px font.
                context = browser.new_context(
                    viewport={"width": 724, "height": 440},
                    accept_downloads=True,
                    extra_http_headers={"X-Forwarded-For": "203.0.113.7"},
                )
                delivered = {}

                def downloaded(download) -> None:
                    delivered[download.url] = download

                # The page opens each download in a new tab, which may report it too.
                context.on("page", lambda tab: tab.on("download", downloaded))
                page = context.new_page()
                page.on("download", downloaded)
                page.route("**/static/js/textual.js", _expose_terminal)
                requested: list[str] = []
                context.on("request", lambda request: requested.append(request.url))
                page.goto(served.base + "/", wait_until="domcontentloaded")

                _wait_for_text(page, "Customer portal login", "Email", "Password")
                # The page loads nothing from another site (textual-serve's own asks Google
                # Fonts for its font, telling it of every visitor).
                assert any(url.endswith(".ttf") for url in requested), requested
                elsewhere = [u for u in requested if not u.startswith((served.base, "data:"))]
                assert elsewhere == []
                page.click("#terminal")  # the terminal takes the keys (and tells the app)
                page.keyboard.type(CONTACT_EMAIL)
                page.keyboard.press("Tab")
                page.keyboard.type(CONTACT_PASSWORD)
                page.keyboard.press("Enter")
                account = _wait_for_text(page, "Northwind Telecom Ltd", "NWT-001", "Balance")
                assert "Customer portal · Jane Doe" in account
                assert "not markup" in account  # the public note, as plain text

                # The Summary tab, its grid menu, and Download (the portal's Export in a browser).
                for _ in range(3):
                    page.keyboard.press("]")
                _wait_for_text(page, "Period", "Attempts")
                page.keyboard.press("m")
                menu = _wait_for_text(page, "Download…")
                items = [line for line in menu.splitlines() if "▊ " in line]
                chosen = next(i for i, line in enumerate(items) if "Download…" in line)
                for _ in range(chosen):
                    page.keyboard.press("ArrowDown")
                page.keyboard.press("Enter")
                # Playwright delivers its events while the test waits in Playwright.
                for _ in range(200):
                    if delivered:
                        break
                    page.wait_for_timeout(100)
                (download,) = delivered.values()
                saved = downloads / download.suggested_filename
                download.save_as(saved)
                _wait_for_text(page, "Downloading")
                assert len(served.sessions()) == 1
                context.close()  # the customer closes the tab
            finally:
                browser.close()
        (logout,) = wait_until(lambda: _portal_entries(url, "LOGOUT"), 10, "the logout")
        wait_until(lambda: not served.sessions(), 10, "the session's process to end")
        assert served.stop() == []

    assert saved.name.startswith("summary-NWT-001-") and saved.suffix == ".csv"
    records = list(csv.reader(saved.read_text(encoding="utf-8").splitlines()))
    assert records[0][:3] == ["Period", "Attempts", "Connected"]
    assert len(records) >= 2
    # The Export wrote no file on the server: not in its home, its exports or anywhere under it.
    assert not [p for p in (tmp_path / "serve-home").rglob("*.csv")]
    (login,) = _portal_entries(url, "LOGIN")
    assert (login.ip, login.primary_key) == ("203.0.113.7", str(contact_id))
    assert logout.ip == "203.0.113.7" and logout.message.endswith("(the browser left)")
