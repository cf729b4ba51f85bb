"""Delivery reports to notify URLs: the DR body, the URL rules, and the HTTP client."""

from wanode.notify.client import Attempt, NotifyClient, Outcome, classify
from wanode.notify.payload import additional_info, delivery_report
from wanode.notify.urls import InvalidNotifyUrl, validate_notify_url

__all__ = [
    "Attempt",
    "InvalidNotifyUrl",
    "NotifyClient",
    "Outcome",
    "additional_info",
    "classify",
    "delivery_report",
    "validate_notify_url",
]
