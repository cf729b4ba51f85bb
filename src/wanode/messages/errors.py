"""The one error type of the messages layer."""

from __future__ import annotations

from wanode.codes import SYNC


class InvalidMessage(ValueError):
    """A message value breaks a rule. `field` is the dotted path of the offending value.

    `code` is a Messaging API code (7003 when a mandatory value is missing, 7004 for an
    invalid one, or a more specific code from the registry).
    """

    def __init__(self, field: str, reason: str, *, code: str = SYNC.INVALID_VALUE) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.code = code

    def under(self, prefix: str) -> InvalidMessage:
        """The same error with its field path placed under `prefix` (`a` + `[0].b` is `a[0].b`)."""
        if not self.field:
            path = prefix
        elif not prefix or self.field.startswith("["):
            path = prefix + self.field
        else:
            path = f"{prefix}.{self.field}"
        return InvalidMessage(path, self.reason, code=self.code)
