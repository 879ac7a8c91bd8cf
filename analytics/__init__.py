"""Agent quality, promise tracking and portfolio analytics, aggregated in the database."""
