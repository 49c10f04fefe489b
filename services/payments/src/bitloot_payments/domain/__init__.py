"""The payments rules: pure functions and values, no I/O."""


class Coded(Exception):
    """An error whose `code` is a machine-readable reason beside its message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
