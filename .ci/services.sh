#!/usr/bin/env bash
# Services the test suite needs that a fresh machine lacks. Tests that need one skip
# only when CANARY_ALLOW_SKIP is set; in CI they fail if it is missing.
set -euo pipefail
true
