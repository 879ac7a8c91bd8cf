"""duecall: cross-cutting pieces (settings, database, clock, auth, CLI) shared by the domains."""
