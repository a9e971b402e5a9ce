"""bot.web.limits: the token bucket and the per-address limits, driven by a fake clock."""

from __future__ import annotations

from bot.web.limits import AddressLimits, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def take(bucket: TokenBucket, n: int) -> list[bool]:
    return [bucket.allow() for _ in range(n)]


def test_burst_then_refused() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, clock=FakeClock())

    assert take(bucket, 5) == [True, True, True, False, False]


def test_refills_at_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    take(bucket, 3)

    clock.advance(0.25)  # half a token
    assert bucket.allow() is False
    clock.advance(0.25)  # one token in all
    assert take(bucket, 2) == [True, False]
    clock.advance(1.0)  # two tokens
    assert take(bucket, 3) == [True, True, False]


def test_refill_is_capped_at_burst() -> None:
    # a full bucket does not bank more than ``burst`` tokens, however long it waits
    clock = FakeClock()
    bucket = TokenBucket(rate=10.0, burst=2, clock=clock)
    take(bucket, 2)

    clock.advance(3600.0)

    assert take(bucket, 3) == [True, True, False]


def test_fractions_accumulate_across_refused_calls() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=3, clock=clock)
    assert take(bucket, 3) == [True, True, True]

    results = []
    for _ in range(9):
        clock.advance(0.375)  # exact in binary, so the sums below are exact
        results.append(bucket.allow())

    # tokens: .375, .75, 1.125 -> allow (.125), .5, .875, 1.25 -> allow (.25), .625, 1.0 -> allow (0), .375
    assert results == [False, False, True, False, False, True, False, True, False]


def test_zero_rate_never_refills() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=0.0, burst=1, clock=clock)

    assert bucket.allow() is True
    clock.advance(1e6)
    assert bucket.allow() is False


def test_time_standing_still_gives_nothing() -> None:
    bucket = TokenBucket(rate=1000.0, burst=1, clock=FakeClock())

    assert take(bucket, 3) == [True, False, False]


def test_default_clock_is_monotonic() -> None:
    bucket = TokenBucket(rate=1.0, burst=2)

    assert take(bucket, 3) == [True, True, False]


def test_an_address_holds_at_most_max_connections() -> None:
    limits = AddressLimits(max_connections=2, rate=1.0, burst=1, clock=FakeClock())

    assert [limits.opened("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert limits.opened("10.0.0.2") is True  # another address has its own count
    limits.closed("10.0.0.1")
    assert limits.opened("10.0.0.1") is True


def test_connections_of_one_address_share_one_message_bucket() -> None:
    clock = FakeClock()
    limits = AddressLimits(max_connections=10, rate=1.0, burst=3, clock=clock)
    limits.opened("10.0.0.1")
    limits.opened("10.0.0.1")

    assert [limits.allow("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limits.allow("10.0.0.2") is True
    clock.advance(1.0)
    assert limits.allow("10.0.0.1") is True


def test_reconnecting_buys_no_fresh_burst() -> None:
    clock = FakeClock()
    limits = AddressLimits(max_connections=1, rate=1.0, burst=2, clock=clock)
    limits.opened("10.0.0.1")
    assert [limits.allow("10.0.0.1") for _ in range(3)] == [True, True, False]

    limits.closed("10.0.0.1")
    limits.opened("10.0.0.1")

    assert limits.allow("10.0.0.1") is False  # the same, empty bucket
    clock.advance(1.0)
    assert limits.allow("10.0.0.1") is True


def test_a_refilled_idle_address_is_forgotten() -> None:
    clock = FakeClock()
    limits = AddressLimits(max_connections=1, rate=1.0, burst=2, clock=clock)
    limits.opened("10.0.0.1")
    limits.allow("10.0.0.1")
    clock.advance(5.0)  # refilled

    limits.closed("10.0.0.1")

    assert limits._buckets == {}
