"""Alembic migrations of the CRM store (`duecall db upgrade`)."""
