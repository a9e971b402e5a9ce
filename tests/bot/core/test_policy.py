"""bot.core.policy: every rule on its own, with hand-built predictions (no model)."""

from __future__ import annotations

import pytest

from bot.core.policy import Action, Decision, HandoffReason, Policy, PolicyConfig, TurnContext, Understanding
from retrieval.retriever import RetrievedReply
from training.prediction import rank

HUMAN = "talk_to_human"


def understand(
    probs: dict[str, float], *, retrieval: float | None = None, similarity: float | None = None
) -> Understanding:
    prediction = rank(list(probs), list(probs.values()))
    retrieved: tuple[RetrievedReply, ...] = ()
    if retrieval is not None:
        retrieved = (
            RetrievedReply("Your parcel left the depot this morning.", "where is it", retrieval, "dialogue:d1#0"),
            RetrievedReply("A worse match.", "something else", retrieval - 0.1, "faq:3"),
        )
    return Understanding(prediction, retrieved, similarity)


CONFIDENT = {"order_status": 0.8, "refund": 0.1, "greet": 0.1}
AMBIGUOUS = {"order_status": 0.45, "refund": 0.4, "greet": 0.15}
LOW = {"order_status": 0.2, "refund": 0.2, "greet": 0.2, "delivery_time": 0.2, HUMAN: 0.2}
UNSURE = {"order_status": 0.4, "refund": 0.15, "greet": 0.15, "delivery_time": 0.15, HUMAN: 0.15}


def decide(
    understanding: Understanding,
    text: str = "a message",
    context: TurnContext | None = None,
    *,
    chosen: str | None = None,
    config: PolicyConfig | None = None,
) -> Decision:
    policy = Policy(config, handoff_intents=[HUMAN])
    return policy.decide(text, understanding, context or TurnContext(), chosen_intent=chosen)


# --- 1. explicit request ----------------------------------------------------------------------


def test_explicit_request_by_handoff_intent() -> None:
    decision = decide(understand({HUMAN: 0.7, "refund": 0.3}))

    assert decision.action is Action.HANDOFF
    assert decision.rule == "explicit_request"
    assert decision.reason is HandoffReason.EXPLICIT_REQUEST
    assert decision.intent == HUMAN
    assert decision.confidence == pytest.approx(0.7)


def test_handoff_intent_below_handoff_threshold_is_not_an_explicit_request() -> None:
    probs = {HUMAN: 0.24, "refund": 0.2, "order_status": 0.2, "greet": 0.18, "delivery_time": 0.18}

    decision = decide(understand(probs))

    assert decision.rule == "low_confidence"
    assert decision.reason is HandoffReason.LOW_CONFIDENCE


def test_handoff_intent_out_of_scope_is_not_an_explicit_request() -> None:
    decision = decide(understand({HUMAN: 0.9, "refund": 0.1}, similarity=0.2))

    assert decision.action is Action.FALLBACK
    assert decision.rule == "out_of_scope"


def test_handoff_intent_ranked_second_is_not_an_explicit_request() -> None:
    decision = decide(understand({"refund": 0.75, HUMAN: 0.25}))

    assert decision.action is Action.ANSWER
    assert decision.intent == "refund"


@pytest.mark.parametrize(
    "text",
    [
        "can I talk to a human?",
        "I want to speak with a real person",
        "Let me chat to an agent please",
        "get me a LIVE AGENT",
        "I need to speak to someone",
        "talk to somebody now",
        "put me through to a human agent",
        "I'd like to speak to a representative",
        "could I talk to some person please",
    ],
)
def test_explicit_request_by_phrase(text: str) -> None:
    decision = decide(understand(CONFIDENT), text)

    assert decision.action is Action.HANDOFF
    assert decision.rule == "explicit_request"
    assert decision.reason is HandoffReason.EXPLICIT_REQUEST


@pytest.mark.parametrize("text", ["where is my order", "the delivery person was rude", "is a human size M in stock"])
def test_ordinary_text_is_not_an_explicit_request(text: str) -> None:
    assert decide(understand(CONFIDENT), text).action is Action.ANSWER


def test_custom_explicit_pattern() -> None:
    config = PolicyConfig(explicit_handoff_pattern=r"\bmensch\b")

    assert decide(understand(CONFIDENT), "einen Mensch bitte", config=config).action is Action.HANDOFF
    assert decide(understand(CONFIDENT), "talk to a human", config=config).action is Action.ANSWER


# --- 2. chosen option ---------------------------------------------------------------------------


def test_chosen_option_that_was_offered_is_answered() -> None:
    context = TurnContext(last_was_clarify=True, offered_options=("refund", "order_status"))

    decision = decide(understand({"greet": 0.9, "refund": 0.1}), "Get a refund", context, chosen="refund")

    assert decision.action is Action.ANSWER
    assert decision.rule == "chosen_option"
    assert decision.intent == "refund"
    assert decision.confidence == 1.0


def test_chosen_option_that_was_not_offered_is_ignored() -> None:
    context = TurnContext(last_was_clarify=True, offered_options=("refund", "order_status"))

    decision = decide(understand(CONFIDENT), "Delivery", context, chosen="delivery_time")

    assert decision.rule == "confident_intent"
    assert decision.intent == "order_status"


def test_chosen_option_without_any_offer_is_ignored() -> None:
    decision = decide(understand(LOW), "Refund", chosen="refund")

    assert decision.rule == "low_confidence"


def test_chosen_handoff_option_hands_off() -> None:
    context = TurnContext(last_was_clarify=True, offered_options=(HUMAN, "refund"))

    decision = decide(understand(AMBIGUOUS), "Human support", context, chosen=HUMAN)

    assert decision.action is Action.HANDOFF
    assert decision.reason is HandoffReason.EXPLICIT_REQUEST
    assert decision.intent == HUMAN


# --- 3. confident intent ---------------------------------------------------------------------


def test_confident_intent_is_answered() -> None:
    decision = decide(understand(CONFIDENT))

    assert decision.action is Action.ANSWER
    assert decision.rule == "confident_intent"
    assert decision.intent == "order_status"
    assert decision.confidence == pytest.approx(0.8)
    assert decision.reason is None


def test_confident_at_exactly_the_threshold() -> None:
    assert decide(understand({"order_status": 0.6, "refund": 0.1, "greet": 0.3})).rule == "confident_intent"


def test_below_answer_threshold_is_not_confident() -> None:
    assert decide(understand({"order_status": 0.59, "refund": 0.05, "greet": 0.36})).action is not Action.ANSWER


def test_top_too_close_to_second_is_not_confident() -> None:
    config = PolicyConfig(answer_threshold=0.5)

    decision = decide(understand({"order_status": 0.52, "refund": 0.44, "greet": 0.04}), config=config)

    assert decision.action is Action.CLARIFY


def test_confident_but_out_of_scope_is_not_answered() -> None:
    assert decide(understand(CONFIDENT, similarity=0.49)).rule == "out_of_scope"
    assert decide(understand(CONFIDENT, similarity=0.5)).rule == "confident_intent"
    assert decide(understand(CONFIDENT, similarity=0.9)).rule == "confident_intent"


def test_single_label_prediction() -> None:
    decision = decide(understand({"order_status": 1.0}))

    assert decision.rule == "confident_intent"
    assert decision.notes["second"] == 0.0


# --- 4. good retrieval --------------------------------------------------------------------------


def test_good_retrieval_sends_the_best_past_reply() -> None:
    understanding = understand(AMBIGUOUS, retrieval=0.85)

    decision = decide(understanding)

    assert decision.action is Action.RETRIEVED
    assert decision.rule == "good_retrieval"
    assert decision.retrieved == understanding.retrieved[0]
    assert decision.intent == "order_status"
    assert decision.notes["retrieval"] == pytest.approx(0.85)


def test_retrieval_at_exactly_the_threshold() -> None:
    assert decide(understand(AMBIGUOUS, retrieval=0.8)).action is Action.RETRIEVED


def test_weak_retrieval_is_not_used() -> None:
    assert decide(understand(AMBIGUOUS, retrieval=0.79)).action is Action.CLARIFY


def test_confident_intent_beats_good_retrieval() -> None:
    assert decide(understand(CONFIDENT, retrieval=0.99)).action is Action.ANSWER


def test_good_retrieval_works_out_of_scope() -> None:
    assert decide(understand(CONFIDENT, retrieval=0.9, similarity=0.1)).action is Action.RETRIEVED


def hits(*replies: RetrievedReply) -> Understanding:
    return Understanding(rank(list(AMBIGUOUS), list(AMBIGUOUS.values())), replies)


CASE = RetrievedReply("I've cancelled {order_id} for you.", "cancel it", 0.9, "dialogue:d5#2", case_specific=True)
GENERAL = RetrievedReply("You can cancel under Account > Orders.", "cancel?", 0.85, "dialogue:d6#0")
NEEDS_ORDER = RetrievedReply("{order_id} can still be cancelled there.", "cancel?", 0.88, "dialogue:d7#0")


def test_a_case_specific_past_reply_is_never_the_bots_answer() -> None:
    only_case = decide(hits(CASE))
    with_general = decide(hits(CASE, GENERAL))

    assert only_case.action is Action.CLARIFY  # the policy goes on to its next rule
    assert with_general.action is Action.RETRIEVED and with_general.retrieved == GENERAL
    assert with_general.notes["sendable_retrieval"] == pytest.approx(0.85)


def test_a_persona_reply_is_never_the_bots_answer() -> None:
    persona = RetrievedReply("I'm {name} from the team, happy to help.", "hi", 0.95, "dialogue:d8#0", persona=True)

    assert decide(hits(persona)).action is Action.CLARIFY


def test_a_past_reply_with_a_placeholder_needs_this_conversations_value() -> None:
    without = decide(hits(NEEDS_ORDER, GENERAL))
    with_order = decide(hits(NEEDS_ORDER, GENERAL), context=TurnContext(slots=frozenset({"order_id"})))

    assert without.retrieved == GENERAL
    assert with_order.retrieved == NEEDS_ORDER


def test_a_case_specific_match_runs_the_intents_custom_action() -> None:
    policy = Policy(None, handoff_intents=[HUMAN], action_intents=["order_status"])
    clear = {"order_status": 0.55, "refund": 0.12, "greet": 0.11, "a": 0.11, "b": 0.11}
    understanding = Understanding(rank(list(clear), list(clear.values())), (CASE, GENERAL))
    torn = Understanding(rank(list(AMBIGUOUS), list(AMBIGUOUS.values())), (CASE,))

    decision = policy.decide("where is it", understanding, TurnContext())
    out_of_scope = policy.decide("where is it", Understanding(understanding.prediction, (CASE,), 0.1), TurnContext())

    assert decision.action is Action.ANSWER and decision.rule == "case_specific_action"
    assert decision.intent == "order_status"
    assert out_of_scope.rule != "case_specific_action"
    assert policy.decide("where is it", torn, TurnContext()).action is Action.CLARIFY  # an action waits for clarity


def test_generation_is_grounded_in_general_replies_only() -> None:
    generating = PolicyConfig(generate=True, generation_min_score=0.55)
    weak_intent = {"order_status": 0.3, "refund": 0.1, "greet": 0.1, "a": 0.1, "b": 0.1, "c": 0.1, "d": 0.1, "e": 0.1}
    prediction = rank(list(weak_intent), list(weak_intent.values()))
    case_only = Understanding(prediction, (CASE,))
    weak_general = RetrievedReply("You can cancel under Account > Orders.", "cancel?", 0.6, "faq:1")

    assert decide(case_only, config=generating).action is not Action.GENERATE
    mixed = decide(Understanding(prediction, (CASE, weak_general)), config=generating)
    assert mixed.action is Action.GENERATE and mixed.retrieved == weak_general
    again = Policy(generating).decide("x", Understanding(prediction, (weak_general,)), TurnContext(), generation=False)
    assert again.action is not Action.GENERATE


# --- 5. ambiguous -------------------------------------------------------------------------------


def test_ambiguous_asks_which_one() -> None:
    decision = decide(understand(AMBIGUOUS))

    assert decision.action is Action.CLARIFY
    assert decision.rule == "ambiguous"
    assert decision.options == ("order_status", "refund")
    assert decision.reason is None


def test_ambiguous_twice_hands_off() -> None:
    decision = decide(understand(AMBIGUOUS), context=TurnContext(last_was_clarify=True, offered_options=("a", "b")))

    assert decision.action is Action.HANDOFF
    assert decision.rule == "ambiguous_again"
    assert decision.reason is HandoffReason.AMBIGUOUS


def test_second_far_below_top_is_not_ambiguous() -> None:
    # the second holds less than clarify_ratio of the top's probability
    decision = decide(understand({"order_status": 0.55, "refund": 0.15, "greet": 0.15, "delivery_time": 0.15}))

    assert decision.action is Action.FALLBACK


def test_too_little_mass_is_not_ambiguous() -> None:
    assert decide(understand(UNSURE)).action is Action.FALLBACK


def test_ambiguous_out_of_scope_does_not_clarify() -> None:
    assert decide(understand(AMBIGUOUS, similarity=0.3)).rule == "out_of_scope"


# --- 6. low confidence --------------------------------------------------------------------------


def test_low_confidence_hands_off() -> None:
    decision = decide(understand(LOW))

    assert decision.action is Action.HANDOFF
    assert decision.rule == "low_confidence"
    assert decision.reason is HandoffReason.LOW_CONFIDENCE
    assert decision.confidence == pytest.approx(0.2)


# --- 7. failures --------------------------------------------------------------------------------


def test_first_failure_asks_to_rephrase() -> None:
    decision = decide(understand(UNSURE))

    assert decision.action is Action.FALLBACK
    assert decision.rule == "unsure"
    assert decision.reason is None


def test_repeated_failure_hands_off_at_max_failures() -> None:
    decision = decide(understand(UNSURE), context=TurnContext(failures_in_a_row=1))

    assert decision.action is Action.HANDOFF
    assert decision.rule == "repeated_failure"
    assert decision.reason is HandoffReason.REPEATED_FAILURE


JUNK = [
    "<script>alert(1)</script>",
    "<b></b><i>",
    "\u0000\u0007\u001b\u200b",
    "?!?! ... ---",
    "\U0001f44d\U0001f44d",
    "<img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("text", JUNK)
def test_a_message_with_nothing_to_read_asks_to_rephrase_first(text: str) -> None:
    """Junk is a failure like any other: rephrase first, even when the models are unsure (no low-confidence handoff)."""
    decision = decide(understand(LOW), text=text)

    assert decision.action is Action.FALLBACK
    assert decision.rule == "unreadable"
    again = decide(understand(LOW), text=text, context=TurnContext(failures_in_a_row=1))
    assert again.action is Action.HANDOFF and again.reason is HandoffReason.REPEATED_FAILURE


@pytest.mark.parametrize("text", ["<b>where is my order</b>", "¿dónde está?", "注文はどこ", "12345", "٣", "<p>hi"])
def test_words_in_any_script_or_inside_tags_are_read_as_usual(text: str) -> None:
    assert decide(understand(LOW), text=text).rule == "low_confidence"


def test_max_failures_is_configurable() -> None:
    config = PolicyConfig(max_failures=3)

    assert decide(understand(UNSURE), context=TurnContext(failures_in_a_row=1), config=config).action is Action.FALLBACK
    assert decide(understand(UNSURE), context=TurnContext(failures_in_a_row=2), config=config).action is Action.HANDOFF


def test_thresholds_are_configurable() -> None:
    strict = PolicyConfig(answer_threshold=0.9)

    assert decide(understand(CONFIDENT), config=strict).action is not Action.ANSWER


def test_a_message_nearest_to_an_out_of_scope_example_is_never_answered() -> None:
    from dataclasses import replace

    near_oos = replace(understand(CONFIDENT, similarity=0.9), nearest_is_out_of_scope=True)
    decision = decide(near_oos)

    assert decision.action is Action.FALLBACK
    assert decision.rule == "out_of_scope"
    assert decision.notes["nearest_out_of_scope"] == 1.0


def test_notes_record_the_numbers() -> None:
    decision = decide(understand(AMBIGUOUS, retrieval=0.5, similarity=0.7))

    assert decision.notes == {
        "top": pytest.approx(0.45),
        "second": pytest.approx(0.4),
        "retrieval": pytest.approx(0.5),
        "example_similarity": pytest.approx(0.7),
    }


def test_decide_is_pure() -> None:
    policy = Policy(handoff_intents=[HUMAN])
    understanding = understand(AMBIGUOUS)

    first = policy.decide("x", understanding, TurnContext())
    second = policy.decide("x", understanding, TurnContext())

    assert first == second


def test_the_models_threshold_is_used_unless_config_sets_one() -> None:
    from bot.core.policy import DEFAULT_ANSWER_THRESHOLD

    assert Policy(PolicyConfig(), model_threshold=0.83).answer_threshold == 0.83
    assert Policy(PolicyConfig(answer_threshold=0.7), model_threshold=0.83).answer_threshold == 0.7
    assert Policy(PolicyConfig()).answer_threshold == DEFAULT_ANSWER_THRESHOLD


def test_grounded_generation_only_with_a_generator_and_enough_grounding() -> None:
    generating = PolicyConfig(generate=True, generation_min_score=0.55)
    weak_intent = {"order_status": 0.3, "refund": 0.1, "greet": 0.1, "a": 0.1, "b": 0.1, "c": 0.1, "d": 0.1, "e": 0.1}

    assert decide(understand(weak_intent, retrieval=0.6), config=generating).action is Action.GENERATE
    assert decide(understand(weak_intent, retrieval=0.6)).action is not Action.GENERATE  # no generator
    assert decide(understand(weak_intent, retrieval=0.5), config=generating).action is not Action.GENERATE
    assert decide(understand(weak_intent, retrieval=0.85), config=generating).action is Action.RETRIEVED
    assert decide(understand(CONFIDENT, retrieval=0.6), config=generating).action is Action.ANSWER
