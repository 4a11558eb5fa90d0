"""The `canary` command: thin click wrappers over the library, one module per subject.

Every command is listed here, once: a module only defines its commands, nothing registers
itself by being imported. A new command goes into COMMANDS (tests/test_cli_help.py checks
each has help and an example).
"""
from . import alerts, config, dashboard, demo, deployment, investigation, listening, planting
from .common import main

COMMANDS = (
    deployment.init, config.config, deployment.site, deployment.target, deployment.generate, deployment.issue,
    deployment.list_command, deployment.store,
    planting.plant, planting.check, planting.retire, planting.rotate, planting.confirm,
    listening.serve, listening.hits, listening.hosts,
    investigation.scan, investigation.evidence, investigation.report,
    alerts.alerts,
    dashboard.dashboard, dashboard.user, dashboard.api_token,
    demo.demo,
)
for command in COMMANDS:
    main.add_command(command)

__all__ = ["main", "COMMANDS"]
