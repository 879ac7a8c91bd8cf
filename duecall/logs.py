"""Logging: one handler writing text or JSON lines, and the masking every line goes through.

`configure_logging` installs a single root handler whose formatter masks, in the message, the
exception text and every extra field: anything shaped like a phone number (`+91******5678`),
borrowers' names passed as `PersonName` or under a name field of `extra` (`P. S.`), and the
configured secrets (`[secret]`). Masking happens on the way out, so no code path can write a raw
phone number, even one in an exception or in a third-party library's message. Code that logs a
name wraps it: `log.info("calling %s", PersonName(borrower.name))`.

JSON lines carry `time`, `level`, `logger`, `message`, and `request_id` and `call_id` when the
line was written while serving a request (set by the server's middleware with `bound`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

# A phone number as people and libraries write it: 9 to 15 digits, optionally after a +, with
# single spaces or hyphens between groups; not part of a longer word (ids, hex) and not a date.
_PHONE = re.compile(r"(?<![\w+])(?!\d{4}-\d\d-\d\d)\+?\d(?:[ -]?\d){8,14}(?!\w)")
_SEPARATORS = re.compile(r"[ -]")
# Fields of `extra` that hold a person's name or a phone number whatever their shape.
NAME_FIELDS = frozenset({"borrower_name", "name", "user_name", "caller_name"})
PHONE_FIELDS = frozenset({"phone", "to", "from", "number", "alt_phone"})
SECRET_MASK = "[secret]"

request_id: ContextVar[str | None] = ContextVar("duecall_request_id", default=None)
call_id: ContextVar[str | None] = ContextVar("duecall_call_id", default=None)

# The attributes every LogRecord has; anything else on a record came from `extra` (uvicorn's
# `color_message` repeats the message with terminal colours).
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


def mask_phone(number: str | None) -> str:
    """`+919812345678` → `+91******5678`: enough to tell calls apart, not to dial."""
    if not number:
        return ""
    digits = number.strip()
    if len(digits) <= 6:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str | None) -> str:
    """`Priya Sharma` → `P. S.`"""
    if not name:
        return ""
    return " ".join(part[0] + "." for part in name.split())


class PersonName(str):
    """A person's name on its way into a log line: it comes out as initials."""

    __slots__ = ()


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every phone-shaped number masked and every secret replaced."""
    for secret in secrets:
        text = text.replace(secret, SECRET_MASK)
    return _PHONE.sub(lambda m: mask_phone(_SEPARATORS.sub("", m.group())), text)


def _masked_arg(value: object) -> object:
    return mask_name(value) if isinstance(value, PersonName) else value


def masked_message(record: logging.LogRecord, secrets: Iterable[str] = ()) -> str:
    """The record's message with names, phones and secrets masked (the record is not changed)."""
    args = record.args
    if isinstance(args, Mapping):
        args = {key: _masked_arg(value) for key, value in args.items()}
    elif isinstance(args, tuple):
        args = tuple(_masked_arg(value) for value in args)
    message = str(_masked_arg(record.msg))
    if args:
        message = message % args
    return mask_text(message, secrets)


def masked_extras(record: logging.LogRecord, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """The record's `extra` fields, masked: names to initials, phones and secrets everywhere."""
    extras: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if key in _RECORD_FIELDS or key.startswith("_"):
            continue
        if value is None or isinstance(value, bool | int | float):
            extras[key] = value
        elif key in NAME_FIELDS or isinstance(value, PersonName):
            extras[key] = mask_name(str(value))
        elif key in PHONE_FIELDS:
            extras[key] = mask_phone(str(value))
        else:
            extras[key] = mask_text(str(value), secrets)
    return extras


class _MaskingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def exception_text(self, record: logging.LogRecord) -> str | None:
        if record.exc_info:
            return mask_text(self.formatException(record.exc_info), self.secrets)
        if record.stack_info:
            return mask_text(self.formatStack(record.stack_info), self.secrets)
        return None

    def context(self, record: logging.LogRecord) -> dict[str, Any]:
        fields = {"request_id": request_id.get(), "call_id": call_id.get()}
        fields.update(masked_extras(record, self.secrets))
        return {key: value for key, value in fields.items() if value is not None}


class TextFormatter(_MaskingFormatter):
    """`2026-03-02T04:30:00.123Z INFO dialer.jobs: message key=value ...`"""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line = f"{stamp.replace('+00:00', 'Z')} {record.levelname} {record.name}: "
        line += masked_message(record, self.secrets)
        context = self.context(record)
        if context:
            line += " " + " ".join(f"{key}={value}" for key, value in context.items())
        exception = self.exception_text(record)
        return f"{line}\n{exception}" if exception else line


class JsonFormatter(_MaskingFormatter):
    """One JSON object per line: time, level, logger, message, request_id, call_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": masked_message(record, self.secrets),
        }
        for key, value in self.context(record).items():
            entry.setdefault(key, value)
        exception = self.exception_text(record)
        if exception:
            entry["exception"] = exception
        return json.dumps(entry, ensure_ascii=False, default=str)


LogFormat = Literal["text", "json"]


def formatter(log_format: LogFormat, secrets: Iterable[str] = ()) -> logging.Formatter:
    return JsonFormatter(secrets) if log_format == "json" else TextFormatter(secrets)


def configure_logging(
    level: str = "INFO", log_format: LogFormat = "text", secrets: Iterable[str] = ()
) -> None:
    """One handler on the root logger (standard error), masking as the module docstring says.

    `secrets` are the configured secret values (Settings.secret_values()); they never appear.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format, secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's loggers write through this handler too (the server passes log_config=None).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate, logger.disabled = True, False
        logger.setLevel(logging.NOTSET)
    # HTTP clients log every request at INFO (the Twilio SDK six lines a call): only when debugging.
    chatty = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    for name in ("twilio.http_client", "httpx"):
        logging.getLogger(name).setLevel(chatty)


@contextmanager
def bound(*, request: str | None = None, call: str | None = None) -> Iterator[None]:
    """Lines logged inside the block carry this request id and call id."""
    tokens = (request_id.set(request), call_id.set(call))
    try:
        yield
    finally:
        request_id.reset(tokens[0])
        call_id.reset(tokens[1])
