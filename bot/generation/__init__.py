"""Generated replies, grounded in retrieved passages and streamed, with two backends.

::

    Grounding(question, passages) --build_messages--> [system, user] --Generator.stream--> deltas
                                                                      ├── OpenAICompatibleGenerator  (vLLM, llama.cpp, Ollama)
                                                                      ├── LocalSmolLM2Generator      (SmolLM2-135M on the CPU)
                                                                      └── ScriptedGenerator          (in-memory twin)

The caller decides with :func:`grounding_is_strong` whether to generate at all, and streams
through :func:`with_fallback`, whose outcome says whether the answer completed, failed before any
text or failed mid-stream, so the caller can send the template or retrieved reply instead.
"""

from __future__ import annotations

from bot.generation.base import DEFAULT_MAX_TOKENS, ChatMessage, Generator, Timeout, within_deadline
from bot.generation.fallback import GenerationOutcome, GenerationStatus, GuardedStream, with_fallback
from bot.generation.grounding import Grounding, Passage, build_messages, grounding_is_strong
from bot.generation.local import LocalSmolLM2Generator
from bot.generation.memory import ScriptedGenerator
from bot.generation.openai_compatible import OpenAICompatibleGenerator

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "ChatMessage",
    "GenerationOutcome",
    "GenerationStatus",
    "Generator",
    "Grounding",
    "GuardedStream",
    "LocalSmolLM2Generator",
    "OpenAICompatibleGenerator",
    "Passage",
    "ScriptedGenerator",
    "Timeout",
    "build_messages",
    "grounding_is_strong",
    "with_fallback",
    "within_deadline",
]
