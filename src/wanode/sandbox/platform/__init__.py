"""The platform's behaviour over its state: numbers and credentials, messages and their status
lifecycle, the customers' side and what they do about a business, templates and media
(`Platform`, built up module by module: `core` < `messages` < `customers` < `feedback` <
`platform`; `failures` says why a message fails)."""

from wanode.sandbox.platform.platform import Platform

__all__ = ["Platform"]
