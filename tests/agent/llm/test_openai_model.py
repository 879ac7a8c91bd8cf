"""The `openai` SDK adapter against the stand-in over HTTP: what comes back, and every failure
translated into the domain's errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from agent.llm.model import Completion, Delta, Message, Request, Tool, Usage
from agent.llm.openai_model import OpenAIModel, model_for
from agent.llm.standin import Answer, StandIn, error, garbage, reply, stall, tool
from duecall.errors import ConfigurationError, ProviderError, ProviderMalformed, ProviderTimeout
from duecall.settings import Settings

REQUEST = Request(
    (Message("system", "be brief"), Message("user", '{"borrower_said": "hello"}')),
    tools=(Tool("record_promise", "a promise", {"type": "object", "properties": {}}),),
    max_tokens=50,
)


@pytest.fixture
def model(standin_server: tuple[StandIn, str], standin: StandIn) -> Iterator[OpenAIModel]:
    yield OpenAIModel(
        model="standin-model", api_key="sk-test-key-for-the-standin", base_url=standin_server[1]
    )


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


async def _complete(model: OpenAIModel) -> Completion:
    try:
        return await model.complete(REQUEST)
    finally:
        await model.aclose()


async def _stream(model: OpenAIModel) -> list[Delta | Completion]:
    try:
        return [item async for item in model.stream(REQUEST)]
    finally:
        await model.aclose()


def test_a_reply_comes_back_with_its_usage(model: OpenAIModel, standin: StandIn) -> None:
    standin.script(reply("Thank you, Priya."))
    completion = run(_complete(model))
    assert completion.text == "Thank you, Priya." and completion.tool_calls == ()
    assert isinstance(completion.usage, Usage) and completion.usage.prompt_tokens > 0
    sent = standin.exchanges[-1].body
    assert sent["model"] == "standin-model" and sent["max_tokens"] == 50
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert sent["tools"][0]["function"]["name"] == "record_promise"


def test_a_tool_call_comes_back_with_its_arguments(model: OpenAIModel, standin: StandIn) -> None:
    standin.script(tool("record_promise", {"amount_rupees": 5000, "borrower_words": "5000"}))
    completion = run(_complete(model))
    assert [c.name for c in completion.tool_calls] == ["record_promise"]
    assert '"amount_rupees": 5000' in completion.tool_calls[0].arguments


def test_a_stream_comes_piece_by_piece_then_whole(model: OpenAIModel, standin: StandIn) -> None:
    standin.script(
        Answer(text="Sure, I understand.", chunks=("Sure", ",", " I", " understand", "."))
    )
    items = run(_stream(model))
    assert [i.text for i in items if isinstance(i, Delta)] == [
        "Sure",
        ",",
        " I",
        " understand",
        ".",
    ]
    whole = items[-1]
    assert isinstance(whole, Completion) and whole.text == "Sure, I understand."
    assert whole.usage is not None and whole.usage.completion_tokens > 0
    assert standin.exchanges[-1].body["stream"] is True


def test_a_streamed_tool_call_is_put_together(model: OpenAIModel, standin: StandIn) -> None:
    standin.script(tool("escalate", {"reason": "complaint", "borrower_words": "I complain"}))
    whole = run(_stream(model))[-1]
    assert isinstance(whole, Completion)
    assert [(c.name, c.arguments) for c in whole.tool_calls] == [
        ("escalate", '{"reason": "complaint", "borrower_words": "I complain"}')
    ]


@pytest.mark.parametrize(
    ("answer", "error_type", "retryable"),
    [
        (error(500), ProviderError, True),
        (error(429, "rate limited"), ProviderError, True),
        (error(401, "bad key"), ProviderError, False),
        (garbage(), ProviderMalformed, False),
        (garbage('{"choices": []}'), ProviderMalformed, False),
        (garbage('{"object": "chat.completion"}'), ProviderMalformed, False),
    ],
    ids=["500", "429", "401", "html", "no choices", "no choices key"],
)
def test_failures_become_the_domains_errors(
    model: OpenAIModel,
    standin: StandIn,
    answer: Answer,
    error_type: type[ProviderError],
    retryable: bool,
) -> None:
    standin.script(answer)
    with pytest.raises(error_type) as raised:
        run(_complete(model))
    assert type(raised.value) is error_type and raised.value.retryable is retryable
    assert "sk-test" not in str(raised.value)


def test_a_garbled_stream_is_malformed(model: OpenAIModel, standin: StandIn) -> None:
    standin.script(garbage("data: {not json\n\n", content_type="text/event-stream"))
    with pytest.raises(ProviderMalformed):
        run(_stream(model))


def test_a_worker_thread_gets_the_same_answer_without_the_event_loop(
    model: OpenAIModel, standin: StandIn
) -> None:
    standin.script(
        reply("Thank you, Priya."),
        tool("record_promise", {"amount_rupees": 5000, "borrower_words": "5000"}),
    )
    worded = model.complete_blocking(REQUEST, timeout_s=5)
    assert worded.text == "Thank you, Priya." and worded.usage and worded.usage.prompt_tokens > 0
    called = model.complete_blocking(REQUEST, timeout_s=5)
    assert [c.name for c in called.tool_calls] == ["record_promise"]
    sent = standin.exchanges[-1].body
    assert sent["model"] == "standin-model" and "stream" not in sent
    assert sent["tools"][0]["function"]["name"] == "record_promise"
    assert (
        standin.exchanges[-1].headers.get("authorization") == "Bearer sk-test-key-for-the-standin"
    )


@pytest.mark.parametrize(
    ("answer", "error_type"),
    [
        (stall(30), ProviderTimeout),
        (error(503), ProviderError),
        (garbage(), ProviderMalformed),
        (garbage('{"choices": [{"message": "hello"}]}'), ProviderMalformed),
        (garbage('{"choices": [{"message": {"content": 42}}]}'), ProviderMalformed),
    ],
    ids=["stall", "503", "html", "message not an object", "text not text"],
)
def test_a_worker_threads_failures_become_the_domains_errors(
    model: OpenAIModel, standin: StandIn, answer: Answer, error_type: type[ProviderError]
) -> None:
    standin.script(answer)
    with pytest.raises(error_type) as raised:
        model.complete_blocking(REQUEST, timeout_s=0.3)
    assert type(raised.value) is error_type


def test_an_unreachable_endpoint_is_a_provider_error() -> None:
    unreachable = OpenAIModel(model="m", api_key=None, base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ProviderError, match="could not be reached"):
        run(_complete(unreachable))


def test_the_sdks_own_timeout_is_a_provider_timeout(
    standin_server: tuple[StandIn, str], standin: StandIn
) -> None:
    standin.script(stall(30))
    slow = OpenAIModel(model="m", api_key=None, base_url=standin_server[1], sdk_timeout_s=0.2)
    with pytest.raises(ProviderTimeout, match="did not answer in time"):
        run(_complete(slow))


def test_the_callers_deadline_abandons_the_request(model: OpenAIModel, standin: StandIn) -> None:
    standin.script(stall(30))

    async def bounded() -> None:
        try:
            async with asyncio.timeout(0.2):
                await model.complete(REQUEST)
        finally:
            await model.aclose()

    with pytest.raises(TimeoutError):
        run(bounded())


def test_settings_choose_the_model_and_name_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DUECALL_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    assert model_for(Settings(DUECALL_AGENT_MODE="scripted")) is None  # type: ignore[call-arg]
    chosen = model_for(
        Settings(
            DUECALL_AGENT_MODE="llm",
            DUECALL_LLM_MODEL="gpt-4o-mini",
            OPENAI_API_KEY="sk-real-looking",
        )  # type: ignore[call-arg]
    )
    assert chosen is not None and chosen.name == "gpt-4o-mini"
    with pytest.raises(ConfigurationError, match="DUECALL_LLM_MODEL"):
        model_for(Settings(DUECALL_AGENT_MODE="llm", OPENAI_API_KEY="sk-real-looking"))  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        model_for(Settings(DUECALL_AGENT_MODE="llm", DUECALL_LLM_MODEL="m"))  # type: ignore[call-arg]
    local = model_for(
        Settings(
            DUECALL_AGENT_MODE="llm",
            DUECALL_LLM_MODEL="llama3",
            OPENAI_BASE_URL="http://127.0.0.1:11434/v1",
        )  # type: ignore[call-arg]
    )
    assert local is not None


def test_the_server_does_not_start_in_llm_mode_without_a_model(api_settings: Settings) -> None:
    from server import create_app

    settings = api_settings.model_copy(update={"agent_mode": "llm", "llm_model": None})
    with pytest.raises(ConfigurationError, match="DUECALL_LLM_MODEL"):
        create_app(settings)
