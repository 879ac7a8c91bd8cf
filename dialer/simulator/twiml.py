"""TwiML parsing, pure: a `<Response>` document becomes a list of verbs, or a SimulatorError.

Only the voice verbs duecall uses are executed; any other verb is refused the way Twilio
refuses a document it cannot run (error 12200), and unparsable XML is error 12100.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Literal

from duecall.errors import SimulatorError

# Twilio error codes (https://www.twilio.com/docs/api/errors).
DOCUMENT_PARSE_FAILURE = 12100
SCHEMA_VALIDATION = 12200

HttpMethod = Literal["GET", "POST"]
# Twilio caps `loop="0"` ("repeat until hang-up") at 1000 repetitions.
MAX_LOOP = 1000


@dataclass(frozen=True)
class Say:
    text: str
    language: str = "en-US"
    voice: str | None = None
    loop: int = 1


@dataclass(frozen=True)
class Play:
    url: str
    loop: int = 1


@dataclass(frozen=True)
class Pause:
    length: int = 1


Prompt = Say | Play | Pause


@dataclass(frozen=True)
class Gather:
    inputs: frozenset[str] = frozenset({"dtmf"})
    action: str | None = None
    method: HttpMethod = "POST"
    timeout: int = 5
    speech_timeout: int | None = None  # None means "auto"
    language: str = "en-US"
    num_digits: int | None = None
    finish_on_key: str = "#"
    hints: tuple[str, ...] = ()
    action_on_empty_result: bool = False
    prompts: tuple[Prompt, ...] = ()


@dataclass(frozen=True)
class Redirect:
    url: str
    method: HttpMethod = "POST"


@dataclass(frozen=True)
class Dial:
    targets: tuple[str, ...]
    action: str | None = None
    method: HttpMethod = "POST"
    timeout: int = 30
    caller_id: str | None = None


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Reject:
    reason: str = "rejected"


Verb = Say | Play | Pause | Gather | Redirect | Dial | Hangup | Reject


@dataclass(frozen=True)
class Document:
    verbs: tuple[Verb, ...] = field(default_factory=tuple)


def parse_twiml(text: str) -> Document:
    """Parse a TwiML voice document; raises SimulatorError (12100 or 12200) when Twilio would."""
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise SimulatorError(DOCUMENT_PARSE_FAILURE, f"Document parse failure: {exc}") from None
    if root.tag != "Response":
        raise SimulatorError(
            DOCUMENT_PARSE_FAILURE, f"the root element must be <Response>, not <{root.tag}>"
        )
    return Document(tuple(_verb(element) for element in root))


def _verb(element: ET.Element) -> Verb:
    match element.tag:
        case "Say" | "Play" | "Pause":
            return _prompt(element)
        case "Gather":
            return _gather(element)
        case "Redirect":
            return Redirect(url=_text(element, required=True), method=_method(element))
        case "Dial":
            return _dial(element)
        case "Hangup":
            return Hangup()
        case "Reject":
            return Reject(reason=element.get("reason", "rejected"))
        case other:
            raise SimulatorError(SCHEMA_VALIDATION, f"unsupported TwiML verb <{other}>")


def _prompt(element: ET.Element) -> Prompt:
    if element.tag == "Say":
        text = _text(element, required=True)
        return Say(
            text=text,
            language=element.get("language", "en-US"),
            voice=element.get("voice"),
            loop=_loop(element),
        )
    if element.tag == "Play":
        return Play(url=_text(element, required=True), loop=_loop(element))
    return Pause(length=_int(element, "length", 1, minimum=0))


def _gather(element: ET.Element) -> Gather:
    inputs = frozenset(element.get("input", "dtmf").split())
    if not inputs or not inputs <= {"dtmf", "speech"}:
        raise SimulatorError(
            SCHEMA_VALIDATION, f"<Gather input> must be 'dtmf', 'speech' or both, not {inputs}"
        )
    speech_timeout_attr = element.get("speechTimeout", "auto")
    prompts: list[Prompt] = []
    for child in element:
        if child.tag not in {"Say", "Play", "Pause"}:
            raise SimulatorError(SCHEMA_VALIDATION, f"<{child.tag}> is not allowed in <Gather>")
        prompts.append(_prompt(child))
    num_digits = element.get("numDigits")
    return Gather(
        inputs=inputs,
        action=element.get("action"),
        method=_method(element),
        timeout=_int(element, "timeout", 5, minimum=1),
        speech_timeout=(
            None if speech_timeout_attr == "auto" else _int(element, "speechTimeout", 0, minimum=0)
        ),
        language=element.get("language", "en-US"),
        num_digits=None if num_digits is None else _int(element, "numDigits", 1, minimum=1),
        finish_on_key=element.get("finishOnKey", "#"),
        hints=tuple(h.strip() for h in element.get("hints", "").split(",") if h.strip()),
        action_on_empty_result=_bool(element, "actionOnEmptyResult"),
        prompts=tuple(prompts),
    )


def _dial(element: ET.Element) -> Dial:
    for child in element:
        if child.tag not in {"Number", "Client", "Sip"}:
            raise SimulatorError(SCHEMA_VALIDATION, f"<{child.tag}> is not allowed in <Dial>")
    targets = [_text(child, required=True) for child in element] or [_text(element, required=True)]
    return Dial(
        targets=tuple(targets),
        action=element.get("action"),
        method=_method(element),
        timeout=_int(element, "timeout", 30, minimum=1),
        caller_id=element.get("callerId"),
    )


def _text(element: ET.Element, *, required: bool = False) -> str:
    # itertext keeps the words of SSML children such as <prosody> or <break/>.
    text = " ".join(" ".join(element.itertext()).split())
    if required and not text:
        raise SimulatorError(SCHEMA_VALIDATION, f"<{element.tag}> must not be empty")
    return text


def _int(element: ET.Element, name: str, default: int, *, minimum: int) -> int:
    raw = element.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SimulatorError(
            SCHEMA_VALIDATION, f"<{element.tag} {name}> must be an integer, not {raw!r}"
        ) from None
    if value < minimum:
        raise SimulatorError(
            SCHEMA_VALIDATION, f"<{element.tag} {name}> must be at least {minimum}, not {value}"
        )
    return value


def _loop(element: ET.Element) -> int:
    loop = _int(element, "loop", 1, minimum=0)
    return MAX_LOOP if loop == 0 else loop


def _bool(element: ET.Element, name: str) -> bool:
    raw = element.get(name, "false").lower()
    if raw not in {"true", "false"}:
        raise SimulatorError(
            SCHEMA_VALIDATION, f"<{element.tag} {name}> must be true or false, not {raw!r}"
        )
    return raw == "true"


def _method(element: ET.Element) -> HttpMethod:
    raw = element.get("method", "POST").upper()
    if raw == "GET":
        return "GET"
    if raw == "POST":
        return "POST"
    raise SimulatorError(
        SCHEMA_VALIDATION, f"<{element.tag} method> must be GET or POST, not {raw!r}"
    )
