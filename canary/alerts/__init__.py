"""Alerts: tell people at once when a canary is touched, without ever getting in the way of recording it."""
from .channels import AlertChannel, DeliveryError, channels_from_settings
from .worker import AlertWorker

__all__ = ["AlertWorker", "AlertChannel", "DeliveryError", "channels_from_settings"]
