#!/usr/bin/env bash
# Services the test suite needs that a fresh machine lacks. Tests that need one skip
# only when CANARY_ALLOW_SKIP is set; in CI they fail if it is missing.
set -euo pipefail

# Headless Chromium for the dashboard's browser tests (driven by Playwright's Python
# package with executable_path; never `playwright install`, which downloads a browser).
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
