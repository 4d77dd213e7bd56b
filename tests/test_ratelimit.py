"""The shared rate limit keeps several teams' passes under Google's per-user quota."""

from __future__ import annotations

from agent.ratelimit import RateLimit


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_no_minute_ever_holds_more_requests_than_the_quota():
    t = FakeTime()
    limit = RateLimit(per_minute=60, burst=10, clock=t.clock, sleep=t.sleep)
    stamps = []
    for _ in range(300):  # three teams x 100 requests, drawn from one bucket
        limit.acquire()
        stamps.append(t.now)
    for i, start in enumerate(stamps):
        in_window = [s for s in stamps[i:] if s < start + 60]
        assert len(in_window) <= 60 + 10


def test_a_burst_within_the_bucket_does_not_wait():
    t = FakeTime()
    limit = RateLimit(per_minute=60, burst=10, clock=t.clock, sleep=t.sleep)
    assert [limit.acquire() for _ in range(10)] == [0.0] * 10
    assert limit.acquire() > 0
