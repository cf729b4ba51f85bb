"""The one error the events layer raises."""

from __future__ import annotations


class MalformedWebhook(ValueError):
    """The body does not have the shape of a WhatsApp webhook.

    The message names the offending path. The receiver answers 400 so that Meta retries the
    whole POST: rejecting one bad entry of a batch is safer than acknowledging a partial parse.
    """
