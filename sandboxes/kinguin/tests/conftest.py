"""Makes this directory's harness importable by name and registers its fixtures."""

from kinguin_harness import receiver, sandbox

__all__ = ["receiver", "sandbox"]
