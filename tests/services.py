"""What a test does when a service it needs (PostgreSQL, Chromium) is not on this machine."""
import os

import pytest


def service_missing(message: str):
    """Fail in CI (CI=true), where .ci/services.sh must have provided it; skip on a workstation."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
