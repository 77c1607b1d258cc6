"""The per-member turn rate: a sliding minute, told once per cool-down, free again when the minute has passed."""

from __future__ import annotations

import pytest

from bot.pacing import MemberTurnLimit, SlowDown


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_slides_with_the_minute_and_says_exactly_when_to_try_again() -> None:
    clock = FakeClock()
    limit = MemberTurnLimit(per_minute=2, clock=clock)
    limit.admit("ann")
    clock.now += 20
    limit.admit("ann")
    clock.now += 10
    with pytest.raises(SlowDown) as refused:
        limit.admit("ann")
    assert refused.value.retry_after == 30 and refused.value.first
    limit.admit("bob")  # another member is not affected
    clock.now += 30.5  # the first turn has left the minute
    limit.admit("ann")
    with pytest.raises(SlowDown) as again:
        limit.admit("ann")
    assert again.value.first  # a new cool-down is told again


def test_zero_turns_the_limit_off() -> None:
    limit = MemberTurnLimit(per_minute=0, clock=FakeClock())
    for _ in range(100):
        limit.admit("ann")
