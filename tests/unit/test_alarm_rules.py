"""The alarm arithmetic (carriertui/alarms.py): every metric against a computation written out
here, and the hysteresis rule (raise once, clear once, minimum attempts)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carriertui.alarms import (
    Call,
    Direction,
    Metric,
    Thresholds,
    Transition,
    WindowKind,
    decide,
    metric_value,
    replay,
    threshold_problem,
    totals_of,
    window_seconds,
)

calls_strategy = st.lists(
    st.builds(
        Call,
        start_s=st.integers(0, 100_000).map(float),
        duration=st.one_of(st.just(0), st.integers(1, 4000)),
        sip_code=st.sampled_from([200, 404, 408, 480, 486, 503, 600, 603]),
        pdd_ms=st.integers(0, 30_000),
        charge=st.integers(0, 100_000).map(lambda n: Decimal(n).scaleb(-4)),
        cost=st.integers(0, 100_000).map(lambda n: Decimal(n).scaleb(-4)),
    ),
    max_size=60,
)


def expected(metric: Metric, calls: list[Call], short: int, seconds: float) -> float | None:
    """Each KPI straight from its definition (DOMAIN.md 8.1, FEEDS-AND-ALARMS.md 4.2)."""
    answered = [c for c in calls if c.duration > 0]
    if metric is Metric.SPEND:
        return float(sum((c.charge for c in calls), Decimal(0)))
    if metric is Metric.MARGIN:
        charge = sum((c.charge for c in calls), Decimal(0))
        cost = sum((c.cost for c in calls), Decimal(0))
        return float((charge - cost) / charge * 100) if charge else None
    if not calls:
        return None
    if metric is Metric.ASR:
        return 100.0 * len(answered) / len(calls)
    if metric is Metric.NER:
        good = [c for c in calls if c.duration > 0 or c.sip_code in (486, 600, 408, 480, 603)]
        return 100.0 * len(good) / len(calls)
    if metric is Metric.PDD:
        return sum(c.pdd_ms for c in calls) / 1000.0 / len(calls)
    if metric is Metric.CPS:
        return len(calls) / seconds
    if not answered:
        return None
    if metric is Metric.ACD:
        return sum(c.duration for c in answered) / len(answered)
    return 100.0 * len([c for c in answered if c.duration < short]) / len(answered)


@given(calls=calls_strategy, short=st.integers(1, 60), metric=st.sampled_from(list(Metric)))
def test_every_metric_matches_its_definition(calls, short, metric):
    totals = totals_of(calls, short_seconds=short)
    value = metric_value(metric, totals, 300.0)
    want = expected(metric, calls, short, 300.0)
    if want is None:
        assert value is None
    else:
        assert value == pytest.approx(want)


def test_worked_example():
    # 4 attempts: two answered (30 s and 3 s), one busy (486), one 503 failure.
    calls = [
        Call(0, 30, 200, 1000, Decimal("0.10"), Decimal("0.08")),
        Call(10, 3, 200, 2000, Decimal("0.02"), Decimal("0.03")),
        Call(20, 0, 486, 3000),
        Call(40, 0, 503, 6000),
    ]
    totals = totals_of(calls, short_seconds=6)
    assert metric_value(Metric.ASR, totals, 60) == 50.0
    assert metric_value(Metric.ACD, totals, 60) == 16.5
    assert metric_value(Metric.NER, totals, 60) == 75.0
    assert metric_value(Metric.PDD, totals, 60) == 3.0
    assert metric_value(Metric.SHORT_CALLS, totals, 60) == 50.0
    assert metric_value(Metric.CPS, totals, 60) == pytest.approx(4 / 60)
    assert metric_value(Metric.SPEND, totals, 60) == pytest.approx(0.12)
    assert metric_value(Metric.MARGIN, totals, 60) == pytest.approx(0.01 / 0.12 * 100)
    # A window of the last 4 calls spans 40 s: 0.1 calls per second.
    assert window_seconds(WindowKind.CALLS, 4, totals) == 40.0
    assert window_seconds(WindowKind.MINUTES, 5, totals) == 300.0


def test_directions():
    below = {m for m in Metric if m.direction is Direction.BELOW}
    assert below == {Metric.ASR, Metric.ACD, Metric.NER, Metric.MARGIN}


# -- hysteresis --------------------------------------------------------------------------------

LOW_ASR = Thresholds(Metric.ASR, trigger=30.0, reset=31.0, min_attempts=10)
HIGH_PDD = Thresholds(Metric.PDD, trigger=8.0, reset=5.0, min_attempts=1)


def test_oscillating_around_the_trigger_raises_once_and_clears_once():
    # ConnexCS's example: raised at ASR <= 30 %, reset above 31 %.
    values = [40, 30, 29, 30.5, 31, 29.9, 30.9, 31.5, 31.2, 29, 25]
    steps = replay(LOW_ASR, [(v, 100) for v in values])
    assert steps == [Transition.RAISE, Transition.CLEAR, Transition.RAISE]
    # Between trigger and reset nothing changes, whichever state it is in.
    assert decide(LOW_ASR, False, 30.5, 100) is None
    assert decide(LOW_ASR, True, 30.5, 100) is None
    assert decide(LOW_ASR, True, 31.0, 100) is None  # "above 31": 31 itself does not clear


def test_above_direction():
    assert replay(HIGH_PDD, [(4, 5), (8, 5), (9, 5), (6, 5), (4.9, 5), (7.9, 5)]) == [
        Transition.RAISE,
        Transition.CLEAR,
    ]


def test_minimum_attempts_decide_nothing():
    assert decide(LOW_ASR, False, 0.0, 9) is None
    assert decide(LOW_ASR, False, 0.0, 10) is Transition.RAISE
    assert decide(LOW_ASR, True, 100.0, 9) is None  # nor clear on a thin sample
    assert decide(LOW_ASR, False, None, 1000) is None


@given(
    values=st.lists(
        st.tuples(st.one_of(st.none(), st.floats(0, 100)), st.integers(0, 50)), max_size=40
    )
)
def test_transitions_alternate_and_respect_the_thresholds(values):
    active = False
    for value, attempts in values:
        step = decide(LOW_ASR, active, value, attempts)
        if step is Transition.RAISE:
            assert not active and value is not None and value <= 30 and attempts >= 10
            active = True
        elif step is Transition.CLEAR:
            assert active and value is not None and value > 31 and attempts >= 10
            active = False
        else:
            assert (
                value is None
                or attempts < 10
                or (30 < value <= 31)
                or (active and value <= 31)
                or (not active and value > 30)
            )


def test_a_reset_on_the_wrong_side_is_refused():
    assert threshold_problem(Metric.ASR, 30, 29) is not None
    assert threshold_problem(Metric.PDD, 8, 9) is not None
    assert threshold_problem(Metric.ASR, 30, 30) is None
    with pytest.raises(ValueError, match="reset"):
        Thresholds(Metric.CPS, trigger=10, reset=20)


def test_alarm_settings_from_the_config():
    from carriertui import locations

    assert locations.alarm_settings({}) == (False, 1.0)  # off by default, a look every second
    on = {"CARRIERTUI_ALARMS_EVALUATE": "yes", "CARRIERTUI_ALARMS_WATCH_SECONDS": "2.5"}
    assert locations.alarm_settings(on) == (True, 2.5)
    with pytest.raises(locations.ConfigError, match="evaluate must be true or false"):
        locations.alarm_settings({"CARRIERTUI_ALARMS_EVALUATE": "sometimes"})
    with pytest.raises(locations.ConfigError, match="watch_seconds"):
        locations.alarm_settings({"CARRIERTUI_ALARMS_WATCH_SECONDS": "0"})
