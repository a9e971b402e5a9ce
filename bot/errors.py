"""Deskmate's exception tree.

Every error Deskmate raises on purpose derives from :class:`DeskmateError`, and its message says
what to do next. Library errors are translated at the boundary with ``raise ... from exc``.

::

    DeskmateError
    ├── ConfigError              a setting is missing or malformed
    ├── KBError                  a knowledge base cannot be used
    │   ├── KBValidationError    the KB folder has problems (each with file, line and fix)
    │   ├── BuildNotFoundError   no build exists where one was expected
    │   └── ReloadBusyError      a KB reload or rollback is already running
    ├── ModelError               an intent model or encoder cannot be used
    │   ├── ModelNotFoundError   the model folder is missing or incomplete
    │   └── TrainingError        training could not run on the given data
    ├── StoreError               the conversation store failed (database down, disk full...)
    │   └── ConflictError        another replica appended to the conversation first: replay and retry
    ├── CandidateError           a learned KB candidate is unknown, or was already decided otherwise
    ├── AccountError             an agent or admin account cannot be added, found or removed
    │   └── AuthenticationError  a login was refused (wrong username or password)
    ├── ProtocolError            a client frame was refused; carries a wire error code
    ├── ActionError              a custom action failed, timed out or its action server did not answer
    ├── GenerationError          a generated reply failed: model missing, endpoint down, timeout, bad stream
    ├── ConversationFileError    conversation test files (deskmate test) have problems (file, line, fix)
    └── ConversationError        an event does not fit the conversation's current state
"""

from __future__ import annotations

from dataclasses import dataclass


class DeskmateError(Exception):
    """Base of every error Deskmate raises on purpose."""


class ConfigError(DeskmateError):
    """A setting is missing or malformed."""


class KBError(DeskmateError):
    """A knowledge base cannot be used."""


@dataclass(frozen=True)
class KBIssue:
    """One problem in a KB folder: where it is and how to fix it."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


class KBValidationError(KBError):
    """The KB folder has one or more problems."""

    def __init__(self, issues: list[KBIssue]) -> None:
        self.issues = list(issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        noun = "problem" if len(self.issues) == 1 else "problems"
        super().__init__(f"the knowledge base has {len(self.issues)} {noun}:\n{lines}")


class BuildNotFoundError(KBError):
    """No KB build exists where one was expected."""


class ReloadBusyError(KBError):
    """A KB reload or rollback is already running."""


class ModelError(DeskmateError):
    """An intent model or encoder cannot be used."""


class ModelNotFoundError(ModelError):
    """The model folder is missing or incomplete."""


class TrainingError(ModelError):
    """Training could not run on the given data."""


class StoreError(DeskmateError):
    """The conversation store failed."""


class ConflictError(StoreError):
    """An append expected the conversation to end at one event, but another writer added more first.

    Several replicas share one store; each appends with the last sequence number it has seen, so
    two agents claiming at once on two replicas cannot both succeed. The loser replays and retries.
    """

    def __init__(self, conversation_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"conversation {conversation_id} has {actual} events, not {expected}: replay it from the store and retry"
        )
        self.conversation_id = conversation_id
        self.expected = expected
        self.actual = actual


class AccountError(DeskmateError):
    """An agent or admin account cannot be added, found or removed."""


class AuthenticationError(AccountError):
    """A login was refused: the username or the password is wrong (never says which)."""


class CandidateError(DeskmateError):
    """A learned KB candidate is unknown, or a decision on it conflicts with an earlier one."""


class ProtocolError(DeskmateError):
    """A client frame was refused. ``code`` is the wire error code of docs/protocol.md."""

    def __init__(self, code: str, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.ref = ref


class ActionError(DeskmateError):
    """A custom (Rasa SDK) action failed, timed out, or its action server did not answer properly.

    ``action`` names the action; ``reason`` says what went wrong, one of: ``timeout``,
    ``unreachable``, ``not_found``, ``rejected``, ``http``, ``bad_response``, ``failed``, ``import``.
    """

    def __init__(self, message: str, *, action: str | None = None, reason: str = "failed") -> None:
        super().__init__(message)
        self.action = action
        self.reason = reason


class GenerationError(DeskmateError):
    """A generated reply could not be produced (local model missing, endpoint down, timeout, bad stream).

    ``reason`` says what went wrong, one of: ``timeout``, ``unreachable``, ``http``, ``bad_response``,
    ``empty``, ``missing_model``, ``failed``. The caller answers by the policy's next rules instead.
    """

    def __init__(self, message: str, *, reason: str = "failed") -> None:
        super().__init__(message)
        self.reason = reason


class ConversationError(DeskmateError):
    """An event does not fit the conversation's current state."""


FileIssue = KBIssue  # a problem in any file Deskmate reads: where it is and how to fix it


class ConversationFileError(DeskmateError):
    """Conversation test files cannot be used: each issue names the file, the line and the fix."""

    def __init__(self, issues: list[FileIssue]) -> None:
        self.issues = list(issues)
        noun = "problem" if len(self.issues) == 1 else "problems"
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"the conversation tests have {len(self.issues)} {noun}:\n{lines}")
