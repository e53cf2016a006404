"""Fixed request windows: in process (embedded), in a table shared by the workers of one
``lehnz serve --workers N``, or in Redis (exact across processes)."""

from lehnz.ratelimit.memory import MemoryLimiter
from lehnz.ratelimit.redis import RedisLimiter
from lehnz.ratelimit.shared import SharedLimiter
from lehnz.ratelimit.window import Decision, Limiter

__all__ = ["Decision", "Limiter", "MemoryLimiter", "RedisLimiter", "SharedLimiter"]
