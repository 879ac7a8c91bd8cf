"""The LLM behind `DUECALL_AGENT_MODE=llm`: a small interface, the OpenAI-compatible adapter, the
stand-in server tests and benchmarks talk to, the prompts, the tools and the guarded turn."""
