"""Logging setup and the masking that keeps phone numbers and names out of logs."""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"\+?\d[\d\s-]{7,}\d")


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


class _MaskPhones(logging.Filter):
    """Last line of defence: masks anything that looks like a phone number in a log message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _PHONE.sub(lambda m: mask_phone(re.sub(r"[\s-]", "", m.group())), message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_MaskPhones())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
