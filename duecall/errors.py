"""The domain's exceptions. Adapters translate vendor errors into these; routes map them to HTTP.

DuecallError
├── ConfigurationError      settings or a policy file that cannot be used
├── DatabaseNotMigrated     the store's schema is behind the code
├── NotFound                a record that was asked for does not exist
├── Forbidden               the caller's role may not do this
├── InvalidInput            input with a field that is wrong (names the field)
│   └── UnreadableFile      an import file that cannot be read at all
├── ProviderError           a telephony or LLM vendor failed
│   ├── ProviderTimeout     it did not answer in time: the request may have taken effect
│   └── ProviderMalformed   it answered, but not in the shape asked for (an LLM's garbage)
├── ShuttingDown            this server is draining: it places no new calls
└── SimulatorError          the Twilio stand-in refuses a request or a TwiML document (Twilio code)
"""

from __future__ import annotations


class DuecallError(Exception):
    """Base of every error duecall raises on purpose."""


class ConfigurationError(DuecallError):
    pass


class DatabaseNotMigrated(DuecallError):
    pass


class NotFound(DuecallError):
    pass


class Forbidden(DuecallError):
    pass


class InvalidInput(DuecallError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UnreadableFile(InvalidInput):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)


class ProviderError(DuecallError):
    """A vendor call failed; `retryable` says whether trying again later can help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class ProviderTimeout(ProviderError):
    """The vendor did not answer in time; what was asked may or may not have been done."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class ProviderMalformed(ProviderError):
    """The vendor answered with something that is not what was asked for."""


class ShuttingDown(DuecallError):
    """The server is shutting down (SIGTERM): it finishes live calls and starts no new ones."""


class SimulatorError(DuecallError):
    """What the Twilio stand-in reports as Twilio would: an error code and, for REST, a status."""

    def __init__(self, code: int, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
