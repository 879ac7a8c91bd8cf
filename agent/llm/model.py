"""The language model as the agent sees it: chat requests in, completions or streamed text out.

One interface, `LanguageModel`, with one real adapter: `agent.llm.openai_model.OpenAIModel`, the
official `openai` SDK against any OpenAI-compatible endpoint (OpenAI, Azure OpenAI's v1 API,
vLLM, Ollama...). Tests and benchmarks point that same adapter at `agent.llm.standin`, an
OpenAI-compatible server in this repository, so nothing is faked below the HTTP boundary.

Adapters raise the domain's errors (`duecall.errors`): `ProviderTimeout` when the endpoint did
not answer in time, `ProviderMalformed` when it answered with something that is not a chat
completion, `ProviderError` for everything else.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call: its name, what it is for, and a JSON schema of arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str  # JSON text as the model wrote it: it may not parse


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Request:
    messages: tuple[Message, ...]
    tools: tuple[Tool, ...] = ()
    max_tokens: int = 200
    temperature: float = 0.2


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole answer: its text, the tools it called, what it cost."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    model: str = ""


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of streamed text, stamped (`time.perf_counter()`) when the adapter received it."""

    text: str
    received_at: float = field(default=0.0, compare=False)


class LanguageModel(Protocol):
    """What the agent needs from a model. The caller bounds the time (`asyncio.timeout`);
    cancelling a call abandons the request."""

    name: str

    async def complete(self, request: Request) -> Completion: ...

    def complete_blocking(self, request: Request, *, timeout_s: float) -> Completion:
        """`complete` from a worker thread, blocking it: a webhook turn, which runs in one,
        asks the model without a hop to the event loop and back. `timeout_s` bounds each step
        of the request (connecting, sending, waiting for the answer): `ProviderTimeout`."""
        ...

    def stream(self, request: Request) -> AsyncGenerator[Delta | Completion, None]:
        """Text as it is generated, then one `Completion` with the whole of it (tool calls,
        usage). Close the iterator (`contextlib.aclosing`) to abandon the answer."""
        ...

    async def aclose(self) -> None: ...
