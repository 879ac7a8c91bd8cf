"""The real language model: any OpenAI-compatible endpoint through the official `openai` SDK.

OpenAI, Azure OpenAI (its v1 API at `https://RESOURCE.openai.azure.com/openai/v1`), vLLM, Ollama
and the in-repo stand-in all speak `POST {OPENAI_BASE_URL}/chat/completions`. The SDK never
retries here (`max_retries=0`): the agent bounds each turn by its budget, and the scripted line
is its retry. SDK errors become the domain's: a timeout `ProviderTimeout`, an answer that is not
a chat completion `ProviderMalformed`, anything else `ProviderError`.

The SDK is used at its lightest: its clients (and their connection pools) are made once, when
the model is, and requests go through the client's own `post` with the JSON body as the wire
wants it and the answer as parsed JSON — the SDK still does the HTTP, the key, the base URL,
the SSE stream and the errors, without re-typing every request and response through its
models (which costs more than the rest of the agent's turn). `complete_blocking` is the same
request for a worker thread (the webhook's): no hop to the event loop and back.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any

import openai
from openai import AsyncOpenAI, AsyncStream, OpenAI
from openai._types import RequestOptions

from agent.llm.model import Completion, Delta, Request, Tool, ToolCall, Usage
from duecall.errors import ConfigurationError, ProviderError, ProviderMalformed, ProviderTimeout
from duecall.settings import Settings

# Local servers (vLLM, Ollama) take any key, but the SDK insists on one.
KEYLESS = "no-key-needed"
# The agent bounds every call by its turn budget; this only stops a request nobody waits for.
SDK_TIMEOUT_S = 30.0
PATH = "/chat/completions"
_AUTH: RequestOptions = {"security": {"bearer_auth": True}}  # as the SDK's own create() sends


def model_for(settings: Settings) -> OpenAIModel | None:
    """The LLM the settings ask for: none in scripted mode."""
    return OpenAIModel.from_settings(settings) if settings.agent_mode == "llm" else None


class OpenAIModel:
    """`LanguageModel` over the `openai` SDK."""

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
        # Made now rather than on the first turn: building a client (its TLS context) takes
        # tens of milliseconds.
        self._client: AsyncOpenAI | None = self._async_sdk()
        self._blocking: OpenAI | None = self._blocking_sdk()
        self._tools: tuple[tuple[Tool, ...], list[dict[str, Any]]] = ((), [])

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

    def _async_sdk(self) -> AsyncOpenAI:
        return AsyncOpenAI(
            api_key=self._api_key,
            base_url=self._base_url,
            max_retries=0,
            timeout=self._sdk_timeout_s,
        )

    def _blocking_sdk(self) -> OpenAI:
        return OpenAI(
            api_key=self._api_key,
            base_url=self._base_url,
            max_retries=0,
            timeout=self._sdk_timeout_s,
        )

    def _sdk(self) -> AsyncOpenAI:
        if self._client is None:
            self._client = self._async_sdk()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._blocking is not None:
            self._blocking.close()
            self._blocking = None

    def _body(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.name,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.tools:
            body["tools"] = self._wire_tools(request.tools)
        return body

    def _wire_tools(self, tools: tuple[Tool, ...]) -> list[dict[str, Any]]:
        """The tools as the API wants them; the agent offers the same few on every turn."""
        known, wire = self._tools
        if tools is not known and tools != known:
            wire = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in tools
            ]
            self._tools = (tools, wire)
        return wire

    def complete_blocking(self, request: Request, *, timeout_s: float) -> Completion:
        """`complete` for a worker thread, which it blocks (never the event loop). `timeout_s`
        bounds each step of the request: connecting, sending, and waiting for the answer,
        which an endpoint sends in one piece when it does not stream."""
        if self._blocking is None:
            self._blocking = self._blocking_sdk()
        try:
            options: RequestOptions = {**_AUTH, "timeout": timeout_s}
            data = self._blocking.post(
                PATH, body=self._body(request), cast_to=object, options=options
            )
            return _completion(data, self.name)
        except openai.OpenAIError as exc:
            raise _translated(exc) from None
        except (AttributeError, TypeError, ValueError) as exc:
            raise ProviderMalformed(f"the LLM endpoint's answer is malformed: {exc}") from None

    async def complete(self, request: Request) -> Completion:
        try:
            data = await self._sdk().post(
                PATH, body=self._body(request), cast_to=object, options=_AUTH
            )
            return _completion(data, self.name)
        except openai.OpenAIError as exc:
            raise _translated(exc) from None
        except (AttributeError, TypeError, ValueError) as exc:
            raise ProviderMalformed(f"the LLM endpoint's answer is malformed: {exc}") from None

    async def stream(self, request: Request) -> AsyncGenerator[Delta | Completion, None]:
        text: list[str] = []
        calls: dict[int, list[str]] = {}  # index -> [name, arguments so far]
        usage: Usage | None = None
        body = self._body(request) | {"stream": True, "stream_options": {"include_usage": True}}
        try:
            sdk_stream = await self._sdk().post(
                PATH,
                body=body,
                cast_to=object,
                options=_AUTH,
                stream=True,
                stream_cls=AsyncStream[object],
            )
            async with sdk_stream:
                async for chunk in sdk_stream:
                    received = time.perf_counter()
                    if not isinstance(chunk, Mapping):
                        raise ProviderMalformed("the LLM endpoint streamed something not a chunk")
                    if chunk.get("usage") is not None:
                        usage = _usage(chunk["usage"])
                    for choice in chunk.get("choices") or ():
                        delta = choice.get("delta") or {}
                        for call in delta.get("tool_calls") or ():
                            index = call.get("index", 0)
                            function = call.get("function") or {}
                            name, arguments = calls.setdefault(index, ["", ""])
                            calls[index] = [
                                name + (function.get("name") or ""),
                                arguments + (function.get("arguments") or ""),
                            ]
                        piece = delta.get("content")
                        if piece:
                            text.append(_text(piece))
                            yield Delta(text[-1], received)
        except openai.OpenAIError as exc:
            raise _translated(exc) from None
        except (AttributeError, TypeError, ValueError) as exc:
            raise ProviderMalformed(f"the LLM endpoint's stream is malformed: {exc}") from None
        tool_calls = tuple(_tool_call(*calls[i]) for i in sorted(calls))
        yield Completion("".join(text), tool_calls, usage, self.name)


def _completion(data: object, model: str) -> Completion:
    """A chat completion's JSON as the agent needs it."""
    if not isinstance(data, Mapping):
        raise ProviderMalformed("the LLM endpoint's answer is not a chat completion")
    choices = data.get("choices")
    if not choices or not isinstance(choices, list):
        raise ProviderMalformed("the LLM endpoint answered without a choice")
    message = choices[0].get("message")
    if not isinstance(message, Mapping):
        raise ProviderMalformed("the LLM endpoint's choice has no message")
    text = message.get("content") or ""
    functions = [c.get("function") or {} for c in _calls(message)]
    calls = tuple(_tool_call(f.get("name"), f.get("arguments")) for f in functions)
    return Completion(_text(text), calls, _usage(data.get("usage")), model)


def _calls(message: Mapping[str, Any]) -> Iterable[Any]:
    calls = message.get("tool_calls") or ()
    if not isinstance(calls, list | tuple):
        raise ProviderMalformed("the LLM's tool calls are not a list")
    return calls


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
    if not isinstance(usage, Mapping):
        return None
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
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
