"""wanode: a self-hosted WhatsApp Business messaging engine."""

__version__ = "0.1.0"
