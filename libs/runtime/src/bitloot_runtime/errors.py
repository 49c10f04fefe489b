"""The error hierarchy every service shares.

The consumer decides what happens to a message by the class of the error its handler
raised: a `PermanentError` parks the message at once, anything else is retried with
growing delays and parked when the attempts run out.
"""


class BitlootError(Exception):
    """Base of every error BitLoot raises on purpose."""


class ConfigError(BitlootError):
    """A setting is missing or invalid; raised at start-up, before anything runs."""


class PermanentError(BitlootError):
    """Retrying cannot help (bad input, unknown reference, a rule says no): park at once.

    `code` is a short machine-readable reason (``"unknown_order"``) shown to admins.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class TransientError(BitlootError):
    """The same work may succeed later (a timeout, a 5xx, a lock): retry with a delay."""
