"""The real language model: any OpenAI-compatible endpoint through the official `openai` SDK.

OpenAI, Azure OpenAI (its v1 API at `https://RESOURCE.openai.azure.com/openai/v1`), vLLM, Ollama
and the in-repo stand-in all speak `POST {OPENAI_BASE_URL}/chat/completions`. The SDK never
retries here (`max_retries=0`): the agent bounds each turn by its budget (the caller's
`asyncio.timeout`), and the scripted line is its retry. SDK errors become the domain's: a
timeout `ProviderTimeout`, an answer that is not a chat completion `ProviderMalformed`, anything
else `ProviderError`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import openai
from openai import AsyncOpenAI

from agent.llm.model import Completion, Delta, Request, ToolCall, Usage
from duecall.errors import ConfigurationError, ProviderError, ProviderMalformed, ProviderTimeout
from duecall.settings import Settings

# Local servers (vLLM, Ollama) take any key, but the SDK insists on one.
KEYLESS = "no-key-needed"
# The agent bounds every call by its turn budget; this only stops a request nobody waits for.
SDK_TIMEOUT_S = 30.0


def model_for(settings: Settings) -> OpenAIModel | None:
    """The LLM the settings ask for: none in scripted mode."""
    return OpenAIModel.from_settings(settings) if settings.agent_mode == "llm" else None


class OpenAIModel:
    """`LanguageModel` over the `openai` SDK; the SDK client is made on first use."""

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        base_url: str | None,
        sdk_timeout_s: float = SDK_TIMEOUT_S,
    ) -> None:
        self.name = model
        self._api_key = api_key or KEYLESS
        self._base_url = base_url
        self._sdk_timeout_s = sdk_timeout_s
        self._client: AsyncOpenAI | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIModel:
        """The endpoint the settings name; ConfigurationError says what is missing."""
        if not settings.llm_model:
            raise ConfigurationError("DUECALL_AGENT_MODE=llm needs DUECALL_LLM_MODEL")
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        if key is None and settings.openai_base_url is None:
            raise ConfigurationError(
                "DUECALL_AGENT_MODE=llm needs OPENAI_API_KEY, or OPENAI_BASE_URL for a local server"
            )
        return cls(model=settings.llm_model, api_key=key, base_url=settings.openai_base_url)

    def _sdk(self) -> AsyncOpenAI:
        if self._client is None:
            self._client = AsyncOpenAI(
                api_key=self._api_key,
                base_url=self._base_url,
                max_retries=0,
                timeout=self._sdk_timeout_s,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _arguments(self, request: Request) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "model": self.name,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.tools:
            arguments["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        return arguments

    async def complete(self, request: Request) -> Completion:
        try:
            response = await self._sdk().chat.completions.create(**self._arguments(request))
            choices = getattr(response, "choices", None)
            if not choices:
                raise ProviderMalformed("the LLM endpoint answered without a choice")
            message = choices[0].message
            text = message.content or ""
            calls = tuple(
                _tool_call(c.function.name, c.function.arguments) for c in _calls(message)
            )
            return Completion(
                _text(text), calls, _usage(getattr(response, "usage", None)), self.name
            )
        except openai.OpenAIError as exc:
            raise _translated(exc) from None
        except (AttributeError, TypeError, ValueError) as exc:
            raise ProviderMalformed(f"the LLM endpoint's answer is malformed: {exc}") from None

    async def stream(self, request: Request) -> AsyncGenerator[Delta | Completion, None]:
        text: list[str] = []
        calls: dict[int, list[str]] = {}  # index -> [name, arguments so far]
        usage: Usage | None = None
        try:
            sdk_stream = await self._sdk().chat.completions.create(
                **self._arguments(request),
                stream=True,
                stream_options={"include_usage": True},
            )
            async with sdk_stream:
                async for chunk in sdk_stream:
                    received = time.perf_counter()
                    if getattr(chunk, "usage", None) is not None:
                        usage = _usage(chunk.usage)
                    for choice in getattr(chunk, "choices", None) or ():
                        delta = choice.delta
                        for call in getattr(delta, "tool_calls", None) or ():
                            name, arguments = calls.setdefault(call.index, ["", ""])
                            function = call.function
                            calls[call.index] = [
                                name + ((function.name if function else None) or ""),
                                arguments + ((function.arguments if function else None) or ""),
                            ]
                        piece = delta.content
                        if piece:
                            text.append(_text(piece))
                            yield Delta(text[-1], received)
        except openai.OpenAIError as exc:
            raise _translated(exc) from None
        except (AttributeError, TypeError, ValueError) as exc:
            raise ProviderMalformed(f"the LLM endpoint's stream is malformed: {exc}") from None
        tool_calls = tuple(_tool_call(*calls[i]) for i in sorted(calls))
        yield Completion("".join(text), tool_calls, usage, self.name)


def _calls(message: Any) -> Iterable[Any]:
    return getattr(message, "tool_calls", None) or ()


def _tool_call(name: object, arguments: object) -> ToolCall:
    if not isinstance(name, str) or not name:
        raise ProviderMalformed("the LLM called a tool without a name")
    if isinstance(arguments, dict):  # some servers send an object, not JSON text
        arguments = json.dumps(arguments)
    return ToolCall(name, arguments if isinstance(arguments, str) else "")


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ProviderMalformed(f"the LLM's text is a {type(value).__name__}")
    return value


def _usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    prompt, completion = getattr(usage, "prompt_tokens", 0), getattr(usage, "completion_tokens", 0)
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(prompt, completion)


def _translated(exc: openai.OpenAIError) -> ProviderError:
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeout("the LLM endpoint did not answer in time")
    if isinstance(exc, openai.APIResponseValidationError):
        return ProviderMalformed("the LLM endpoint's answer is not a chat completion")
    if isinstance(exc, openai.APIStatusError):
        retryable = exc.status_code == 429 or exc.status_code >= 500
        return ProviderError(
            f"the LLM endpoint answered HTTP {exc.status_code}", retryable=retryable
        )
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError("the LLM endpoint could not be reached", retryable=True)
    return ProviderError(f"the LLM endpoint failed: {type(exc).__name__}")
