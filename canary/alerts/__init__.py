"""Alerts: tell people at once when a canary is touched, without ever getting in the way of recording it."""
from .channels import AlertChannel, DeliveryError, channels_from_settings
from .worker import AlertWorker

__all__ = ["AlertWorker", "AlertChannel", "DeliveryError", "channels_from_settings", "worker_for"]


def worker_for(deployment) -> AlertWorker:
    """The alert worker for a deployment, for runners that take background workers (`canary serve`).

    Its start() does nothing when no channel is configured; a half-configured channel is a
    SettingsError here, before anything starts.
    """
    return AlertWorker(deployment.store, deployment.settings)
