"""Rate limiting: token buckets per connection, and per client address across its connections."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Allows ``burst`` events at once and ``rate`` per second after that."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def full(self) -> bool:
        """Refilled to ``burst``: forgetting this bucket would give nothing away."""
        self._refill()
        return self._tokens >= self.burst

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def allow(self) -> bool:
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class AddressLimits:
    """Per client address: how many websockets it holds open, and one message bucket they all share.

    A per-connection bucket alone lets one address open many connections and multiply its rate;
    this caps both. An address's bucket outlives its connections until it has refilled, so closing
    and reconnecting buys no fresh burst. (Per replica: N replicas allow N times the rate.)
    """

    def __init__(
        self, *, max_connections: int, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_connections = max_connections
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._open: dict[str, int] = {}
        self._buckets: dict[str, TokenBucket] = {}

    def full(self, address: str) -> bool:
        return self._open.get(address, 0) >= self.max_connections

    def opened(self, address: str) -> bool:
        """Count a new connection from ``address``; False (and nothing counted) when it holds too many."""
        if self.full(address):
            return False
        self._open[address] = self._open.get(address, 0) + 1
        return True

    def closed(self, address: str) -> None:
        left = self._open.get(address, 0) - 1
        if left > 0:
            self._open[address] = left
            return
        self._open.pop(address, None)
        bucket = self._buckets.get(address)
        if bucket is not None and bucket.full():
            del self._buckets[address]
        if len(self._buckets) > 10 * max(1, len(self._open)) + 1000:  # now and then: drop refilled idle ones
            for idle in [a for a, b in self._buckets.items() if a not in self._open and b.full()]:
                del self._buckets[idle]

    def allow(self, address: str) -> bool:
        """One message from ``address``, if its shared bucket has room."""
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = TokenBucket(rate=self.rate, burst=self.burst, clock=self._clock)
        return bucket.allow()
