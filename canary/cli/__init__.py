"""The `canary` command: thin click wrappers over the library, one module per subject.

Every command is listed here, once, by name and where it lives ("module.function" in
canary.cli); a module is imported only when one of its commands runs (or help lists them
all), so a scan starts without the dashboard, the alert channels or the report renderer.
Nothing registers itself by being imported. A new command goes into COMMANDS
(tests/test_cli_deployment.py checks each has help and an example).
"""
from .common import main

COMMANDS = {
    "init": "deployment.init", "config": "config.config", "site": "deployment.site",
    "target": "deployment.target", "generate": "deployment.generate", "issue": "deployment.issue",
    "list": "deployment.list_command", "store": "deployment.store",
    "plant": "planting.plant", "check": "planting.check", "retire": "planting.retire",
    "rotate": "planting.rotate", "confirm": "planting.confirm",
    "serve": "listening.serve", "hits": "listening.hits", "hosts": "listening.hosts",
    "scan": "scanning.scan", "evidence": "investigation.evidence", "report": "investigation.report",
    "alerts": "alerts.alerts",
    "dashboard": "dashboard.dashboard", "user": "dashboard.user", "api-token": "dashboard.api_token",
    "demo": "demo.demo",
}
main.lazy_commands.update(COMMANDS)

__all__ = ["main", "COMMANDS"]
