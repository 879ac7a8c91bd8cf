"""Call scripts and LLM prompts, one folder per language (read by agent.script)."""
