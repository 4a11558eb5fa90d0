"""Regenerate docs/dashboard.png: the overview of the demo lab (canary.demo.seeding) in headless Chromium.

Run: .venv/bin/python docs/screenshot_dashboard.py
"""
from __future__ import annotations

import pathlib
import sys
import tempfile
import threading

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from canary import accounts
from canary.deployment import init_deployment
from canary.demo.seeding import seed_demo_lab
from canary.web import create_app

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def main(output: pathlib.Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = pathlib.Path(folder) / "demo"
        deployment = init_deployment(home, ["canary.example.org"], name="Demo lab")
        seed_demo_lab(deployment, home / "lab")
        accounts.set_password(deployment.store, "admin", "screenshot password")
        server = make_server("127.0.0.1", 0, create_app(deployment.settings), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1200, "height": 800})
                page.goto(f"http://127.0.0.1:{server.server_port}/")
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", "screenshot password")
                page.click("button[type=submit]")
                page.wait_for_selector("h1:text-is('Overview')")
                # Unfold lims-prod: its canaries show every state (planted, missing at the last check, retired).
                page.locator("details").nth(1).evaluate("element => element.open = true")
                page.screenshot(path=str(output), full_page=True)
                browser.close()
        finally:
            server.shutdown()
            deployment.close()


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).with_name("dashboard.png")))
