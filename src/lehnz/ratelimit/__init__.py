"""Fixed request windows: in process (embedded) or in Redis (exact across processes)."""

from lehnz.ratelimit.memory import MemoryLimiter
from lehnz.ratelimit.redis import RedisLimiter
from lehnz.ratelimit.window import Decision, Limiter

__all__ = ["Decision", "Limiter", "MemoryLimiter", "RedisLimiter"]
