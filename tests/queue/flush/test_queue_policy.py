"""The retry policy: outcomes from reply classes, back-off, jitter and expiry (pure, pinned rng)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smtpq.queue.flush.policy import (
    JITTER,
    Decision,
    Outcome,
    backoff,
    classify,
    decide,
    next_attempt,
)
from smtpq.queue.settings import QueueSettings
from smtpq.queue.states import MessageStatus
from smtpq.sender.delivery.outcome import FailureKind
from tests.queue.helpers import T0

SETTINGS = QueueSettings(database="sqlite://", max_age=timedelta(days=5),
                         retry_first=timedelta(minutes=1), retry_max=timedelta(hours=1))


class Fixed:
    """A random source that always returns *value*."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


MIDDLE = Fixed(0.5)  # no jitter


class TestClassify:
    @pytest.mark.parametrize(("code", "outcome"), [
        (250, Outcome.DELIVERED),
        (251, Outcome.DELIVERED),
        (421, Outcome.TEMPORARY),
        (451, Outcome.TEMPORARY),
        (452, Outcome.TEMPORARY),
        (454, Outcome.TEMPORARY),
        (535, Outcome.PERMANENT),
        (550, Outcome.PERMANENT),
        (554, Outcome.PERMANENT),
        (354, Outcome.TEMPORARY),  # out of protocol where a final reply belongs
    ])
    def test_reply_codes_by_class(self, code: int, outcome: Outcome):
        assert classify(code) is outcome

    @pytest.mark.parametrize(("failure", "outcome"), [
        (FailureKind.HOST_NOT_FOUND, Outcome.UNREACHABLE),
        (FailureKind.CONNECT_FAILED, Outcome.UNREACHABLE),
        (FailureKind.CONNECTION_LOST, Outcome.TEMPORARY),
        (FailureKind.TLS_FAILED, Outcome.TEMPORARY),
        (FailureKind.PROTOCOL_ERROR, Outcome.TEMPORARY),
        (FailureKind.LOCAL_ERROR, Outcome.TEMPORARY),
        (FailureKind.BAD_MESSAGE, Outcome.PERMANENT),
    ])
    def test_failures_without_a_reply(self, failure: FailureKind, outcome: Outcome):
        assert classify(failure=failure) is outcome

    def test_every_failure_kind_is_classified(self):
        assert {classify(failure=f) for f in FailureKind} <= set(Outcome)

    @pytest.mark.parametrize("arguments", [{}, {"reply_code": 451, "failure": FailureKind.TLS_FAILED}])
    def test_exactly_one_input(self, arguments):
        with pytest.raises(ValueError):
            classify(**arguments)


class TestBackoff:
    def test_starts_at_retry_first_and_doubles(self):
        waits = [backoff(n, SETTINGS, MIDDLE) for n in range(4)]
        assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8)]

    def test_is_capped_at_retry_max(self):
        assert backoff(6, SETTINGS, MIDDLE) == timedelta(hours=1)  # 64 min -> 60
        assert backoff(1000, SETTINGS, MIDDLE) == timedelta(hours=1)

    def test_jitter_spreads_within_bounds(self):
        low, high = backoff(2, SETTINGS, Fixed(0.0)), backoff(2, SETTINGS, Fixed(0.999999))
        assert low == timedelta(minutes=4) * (1 - JITTER)
        assert timedelta(minutes=4) < high <= timedelta(minutes=4) * (1 + JITTER)

    def test_jitter_never_exceeds_retry_max(self):
        assert backoff(10, SETTINGS, Fixed(0.999999)) == timedelta(hours=1)


class TestNextAttempt:
    def test_a_temporary_failure_waits_the_back_off(self):
        when = next_attempt(0, T0, T0, Outcome.TEMPORARY, SETTINGS, MIDDLE)
        assert when == T0 + timedelta(minutes=1)
        later = next_attempt(3, T0, T0 + timedelta(hours=1), Outcome.TEMPORARY, SETTINGS, MIDDLE)
        assert later == T0 + timedelta(hours=1, minutes=8)

    def test_an_unreachable_server_consumes_no_back_off(self):
        now = T0 + timedelta(hours=3)
        assert next_attempt(7, T0, now, Outcome.UNREACHABLE, SETTINGS, MIDDLE) == now

    def test_the_last_attempt_is_at_max_age(self):
        now = T0 + timedelta(days=5) - timedelta(minutes=10)
        when = next_attempt(20, T0, now, Outcome.TEMPORARY, SETTINGS, MIDDLE)
        assert when == T0 + timedelta(days=5)

    @pytest.mark.parametrize("outcome", [Outcome.TEMPORARY, Outcome.UNREACHABLE])
    def test_a_failure_at_max_age_expires(self, outcome: Outcome):
        assert next_attempt(0, T0, T0 + timedelta(days=5), outcome, SETTINGS, MIDDLE) is MessageStatus.EXPIRED

    @pytest.mark.parametrize("outcome", [Outcome.DELIVERED, Outcome.PERMANENT])
    def test_final_outcomes_have_no_next_attempt(self, outcome: Outcome):
        with pytest.raises(ValueError):
            next_attempt(0, T0, T0, outcome, SETTINGS, MIDDLE)


class TestDecide:
    def decide(self, outcome: Outcome, now=T0, deferrals: int = 0) -> Decision:
        return decide(outcome, deferrals=deferrals, queued_at=T0, now=now, settings=SETTINGS,
                      rng=MIDDLE)

    def test_each_outcome_maps_to_a_status(self):
        assert self.decide(Outcome.DELIVERED) == Decision(MessageStatus.SENT)
        assert self.decide(Outcome.PERMANENT) == Decision(MessageStatus.FAILED)
        assert self.decide(Outcome.TEMPORARY) == Decision(MessageStatus.DEFERRED,
                                                          T0 + timedelta(minutes=1))
        assert self.decide(Outcome.UNREACHABLE) == Decision(MessageStatus.QUEUED, T0)

    def test_past_max_age_a_temporary_failure_expires(self):
        late = T0 + timedelta(days=6)
        assert self.decide(Outcome.TEMPORARY, now=late) == Decision(MessageStatus.EXPIRED)
        assert self.decide(Outcome.UNREACHABLE, now=late) == Decision(MessageStatus.EXPIRED)
