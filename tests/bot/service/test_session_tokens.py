"""bot.service.session_tokens: signed, expiring customer session tokens."""

from __future__ import annotations

import pytest

from bot.errors import ProtocolError
from bot.service.session_tokens import SessionSigner


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def refused(signer: SessionSigner, token: str) -> bool:
    try:
        signer.verify(token)
    except ProtocolError as exc:
        assert exc.code == "session_unknown"
        return True
    return False


def test_a_token_issued_verifies_and_each_is_different() -> None:
    signer = SessionSigner("k" * 40)
    first, second = signer.issue(), signer.issue()

    assert first != second
    assert not refused(signer, first)
    assert not refused(signer, second)


def test_another_key_or_an_altered_token_is_refused() -> None:
    signer = SessionSigner("k" * 40)
    token = signer.issue()
    nonce, expires, signature = token.split(".")

    assert refused(SessionSigner("x" * 40), token)  # another deployment's key
    assert refused(signer, f"{nonce}.{int(expires) + 86400}.{signature}")  # expiry pushed back
    assert refused(signer, f"{'B' if nonce.startswith('A') else 'A'}{nonce[1:]}.{expires}.{signature}")
    assert refused(signer, f"{nonce}.{expires}.{signature[:-2]}")


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b.c", "a..c", "...", "a.-1.c", "a.1e9.c", "🙂.1.x", "a.b.c.d", "a" * 500]
)
def test_malformed_tokens_are_refused(token: str) -> None:
    assert refused(SessionSigner("k" * 40), token)


def test_tokens_expire() -> None:
    clock = Clock()
    signer = SessionSigner("k" * 40, lifetime_s=60.0, clock=clock)
    token = signer.issue()

    clock.now += 59
    assert not refused(signer, token)
    clock.now += 2
    assert refused(signer, token)


def test_replicas_sharing_a_key_accept_each_others_tokens() -> None:
    assert not refused(SessionSigner("shared" * 8), SessionSigner("shared" * 8).issue())


def test_without_a_key_tokens_end_with_the_process() -> None:
    token = SessionSigner(None).issue()

    assert refused(SessionSigner(None), token)  # a restarted process has another random key
