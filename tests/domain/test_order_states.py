"""§E1 order state machine, by property: no path leaves a final state; UNKNOWN settles to exactly
one state for any answer of the venue; only PENDING, SUBMITTED and UNKNOWN are open."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tailgate.domain.orders import TRANSITIONS, IllegalTransition, OrderState, advance
from tailgate.engine.execution import state_for_answer
from tailgate.venues.protocols import OrderResult, OrderStatus

STATES = list(OrderState)
FINAL = {s for s in STATES if s.is_final}


def test_the_open_states_are_exactly_pending_submitted_unknown():
    assert {s for s in STATES if not s.is_final} == {
        OrderState.PENDING,
        OrderState.SUBMITTED,
        OrderState.UNKNOWN,
    }


@given(st.lists(st.sampled_from(STATES), min_size=1, max_size=12))
def test_no_path_leads_out_of_a_final_state(attempts):
    state = OrderState.PENDING
    for new in attempts:
        if state.is_final:
            with pytest.raises(IllegalTransition):
                advance(state, new)
            continue
        if new in TRANSITIONS[state]:
            state = advance(state, new)
        else:
            with pytest.raises(IllegalTransition):
                advance(state, new)


def test_an_order_is_never_resent_once_its_fate_is_unknown():
    assert OrderState.PENDING not in TRANSITIONS[OrderState.UNKNOWN]
    assert OrderState.PENDING not in TRANSITIONS[OrderState.SUBMITTED]
    assert OrderState.FAILED not in TRANSITIONS[OrderState.UNKNOWN]  # ambiguous is not failed


answers = st.one_of(
    st.none(),
    st.builds(
        OrderResult,
        client_order_id=st.just("0xabc"),
        status=st.sampled_from(list(OrderStatus)),
        filled_size=st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 2.0)),
    ),
)


@given(answers)
def test_unknown_resolves_to_exactly_one_state_for_any_venue_answer(answer):
    settled = state_for_answer(answer, ordered_size=1.0)
    assert advance(OrderState.UNKNOWN, settled) is settled  # allowed from UNKNOWN
    if answer is None or answer.status is not OrderStatus.OPEN:
        assert settled.is_final
    else:
        assert settled is OrderState.SUBMITTED  # resting at the venue: asked again later
    assert state_for_answer(answer, ordered_size=1.0) is settled  # one answer, one state


def test_venue_answers_map_to_the_states_of_the_spec():
    def answer(status, filled=0.0):
        return OrderResult("0x1", status, filled_size=filled)

    assert state_for_answer(None, 1.0) is OrderState.EXPIRED  # the venue never had it
    assert state_for_answer(answer(OrderStatus.FILLED, 1.0), 1.0) is OrderState.FILLED
    assert state_for_answer(answer(OrderStatus.PARTIAL, 0.4), 1.0) is OrderState.PARTIAL
    assert state_for_answer(answer(OrderStatus.REJECTED), 1.0) is OrderState.REJECTED
    assert state_for_answer(answer(OrderStatus.CANCELLED), 1.0) is OrderState.EXPIRED
    assert state_for_answer(answer(OrderStatus.OPEN), 1.0) is OrderState.SUBMITTED
