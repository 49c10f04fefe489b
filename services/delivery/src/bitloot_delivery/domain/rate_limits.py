"""Fixed-window rate limits (the runtime's, shared with payments' claim page)."""

from bitloot_runtime.rate_limits import Limit, RateLimited

__all__ = ["Limit", "RateLimited"]
