"""The bot never says it is a person: claims are caught, and ordinary bot talk is left alone."""

from __future__ import annotations

import pytest

from retrieval.persona import PersonaVerdict, claims_to_be_person, classify

CLAIMS = [
    ("I'm a support agent at Pinecone Outfitters.", "staff role"),
    ("I am a real person, I promise!", "says it is human"),
    ("I'm not a bot.", "denies being a bot"),
    ("im not a robot lol", "denies being a bot"),
    ("I'm human, just like you.", "says it is human"),
    ("I'm only human, sorry for the slip.", "says it is human"),
    ("You're talking to a real person.", "says it is human"),
    ("As a person, I find the Basecamp 4 really roomy.", "speaks as staff or a person"),
    ("Speaking as a member of the team, we love that tent.", "speaks as staff or a person"),
    ("As a fellow hiker, I'd go for the Glen 0.", "speaks as staff or a person"),
    ("Hi, I'm Sarah from the support team.", "own name"),
    ("Hiya, I'm Jo :)", "own name"),
    ("Good morning, I'm Priya and I'll be looking after you.", "own name"),
    ("My name is Sarah and I'll be helping you today.", "own name"),
    ("This is Tom from Pinecone.", "own name"),
    ("I'm {name} from the support team.", "own name"),
    ("It's {name} from the Pinecone Outfitters team here; I've taken over.", "own name"),
    ("Sarah here, from the returns team.", "own name"),
    ("{name} here! How can I help?", "own name"),
    ("I'm the advisor handling your case.", "staff role"),
    ("I'm part of the returns team.", "staff role"),
    ("I'm one of the advisors here.", "staff role"),
    ("I'm on the warehouse team this week.", "staff role"),
    ("I work in the warehouse, so I can tell you it's well packed.", "works there"),
    ("I've worked here for six years.", "works there"),
    ("My manager has approved it.", "works there"),
    ("I own a pair myself and they're great.", "personal life"),
    ("I'm a keen climber myself.", "personal life"),
    ("My kids love the Little Trekkers.", "personal life"),
    ("I’m Ellie, I’ll be helping you today.", "own name"),  # curly apostrophes
]

NOT_CLAIMS = [
    "I'm the Pinecone Outfitters assistant.",
    "I'm a virtual assistant.",
    "I'm a bot, but I can help with most things.",
    "I'm an automated assistant.",
    "I'm just a bot, but I can try.",
    "I'm a support bot at Pinecone.",
    "I'm the virtual agent for Pinecone.",
    "I'm an AI agent.",
    "I'm Pinecone's digital assistant.",
    "I'm Max, your virtual assistant.",
    "I'm not a person, I'm an automated assistant.",
    "I'm not human, but I can get you one.",
    "I'll pass you to a person.",
    "An agent will reply soon.",
    "A member of our team will help.",
    "A real person will reply within a day.",
    "Would you like to speak to a real person?",
    "I can connect you to a human agent.",
    "Speak to an agent any time by typing 'agent'.",
    "I'm sorry about that.",
    "I'm afraid we can't.",
    "I'm happy to help!",
    "I'm checking now.",
    "I'm working on it now.",
    "I'm here to help.",
    "I'm on it!",
    "As a member of our Trail Club, you get 10% off.",
    "Our warehouse team works Monday to Friday.",
    "This is Account > Orders > Returns.",
    "It's Monday, so the team is in.",
    "Hi {name}! I'm the Pinecone assistant.",
    "Thanks {name}, I'm checking that now.",
    "Hi {name} here's your link.",
    "Click here to reset your password.",
]


@pytest.mark.parametrize(("text", "rule"), CLAIMS)
def test_claims_to_be_a_person(text: str, rule: str) -> None:
    verdict = classify(text)
    assert verdict.claims_person, text
    assert verdict.rule == rule
    assert verdict.phrase and verdict.phrase.lower() in text.replace("\u2019", "'").lower()
    assert claims_to_be_person(text)


@pytest.mark.parametrize("text", NOT_CLAIMS)
def test_bot_talk_and_talk_about_people_is_not_a_claim(text: str) -> None:
    assert classify(text) == PersonaVerdict(claims_person=False)
    assert not claims_to_be_person(text)


def test_enough_examples_each_way() -> None:
    assert len(CLAIMS) >= 25
    assert len(NOT_CLAIMS) >= 25


def test_verdict_quotes_the_claim() -> None:
    verdict = classify(
        "Thanks for waiting. This is {name} from the Pinecone Outfitters team; I've taken over the chat."
    )
    assert verdict == PersonaVerdict(claims_person=True, phrase="This is {name} from", rule="own name")


def test_the_bots_own_name_is_not_a_persons() -> None:
    assert claims_to_be_person("I'm Deskmate, here to help.")
    assert not claims_to_be_person("I'm Deskmate, here to help.", bot_names=["Deskmate"])
    assert claims_to_be_person("I'm Deskmate. I'm a real person.", bot_names=["Deskmate"])
