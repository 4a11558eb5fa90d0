"""The `canary` command: thin click wrappers over the library, one module per subject."""
from . import deployment  # noqa: F401  (each module adds its commands to `main`)
from . import listening  # noqa: F401
from . import planting  # noqa: F401
from . import investigation  # noqa: F401
from . import alerts, dashboard, demo  # noqa: F401
from .common import main

__all__ = ["main"]
