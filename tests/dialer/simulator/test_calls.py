"""The create-call request, validated as Twilio validates it (pure)."""

from __future__ import annotations

import pytest

from dialer.simulator.calls import (
    INVALID_FROM,
    INVALID_PARAMETER,
    INVALID_TO,
    INVALID_URL,
    NO_FROM,
    NO_TO,
    CallOptions,
    parse_call_options,
)
from duecall.errors import SimulatorError

GOOD = {"To": ["+919812345678"], "From": ["+918045678901"], "Url": ["https://app.test/voice"]}


def _form(**changes: list[str] | None) -> dict[str, list[str]]:
    form = {**GOOD, **{k: v for k, v in changes.items() if v is not None}}
    return {k: v for k, v in form.items() if changes.get(k, v) is not None}


@pytest.mark.parametrize(
    ("changes", "code", "fragment"),
    [
        ({"To": None}, NO_TO, "'To'"),
        ({"To": [""]}, NO_TO, "'To'"),
        ({"To": ["12345"]}, INVALID_TO, "Invalid 'To' Phone Number: 12345"),
        ({"To": ["9812345678"]}, INVALID_TO, "Invalid 'To'"),
        ({"To": ["+91123"]}, INVALID_TO, "Invalid 'To'"),
        ({"To": ["+91981234567x"]}, INVALID_TO, "Invalid 'To'"),
        ({"From": None}, NO_FROM, "'From'"),
        ({"From": ["Demo Bank"]}, INVALID_FROM, "Invalid 'From'"),
        ({"Url": None}, INVALID_URL, "Url parameter is required"),
        ({"Url": ["ftp://app.test/voice"]}, INVALID_URL, "not a valid URL"),
        ({"Url": ["/voice"]}, INVALID_URL, "not a valid URL"),
        ({"StatusCallback": ["status"]}, INVALID_URL, "StatusCallback"),
        ({"Method": ["PUT"]}, INVALID_PARAMETER, "Method"),
        ({"StatusCallbackMethod": ["DELETE"]}, INVALID_PARAMETER, "StatusCallbackMethod"),
        ({"StatusCallbackEvent": ["initiated", "hungup"]}, INVALID_PARAMETER, "hungup"),
        ({"RecordingStatusCallbackEvent": ["done"]}, INVALID_PARAMETER, "done"),
        ({"Record": ["yes"]}, INVALID_PARAMETER, "Record"),
        ({"AsyncAmd": ["1"]}, INVALID_PARAMETER, "AsyncAmd"),
        ({"MachineDetection": ["Detect"]}, INVALID_PARAMETER, "MachineDetection"),
        ({"MachineDetectionTimeout": ["90"]}, INVALID_PARAMETER, "MachineDetectionTimeout"),
        ({"Timeout": ["soon"]}, INVALID_PARAMETER, "Timeout"),
        ({"RecordingChannels": ["stereo"]}, INVALID_PARAMETER, "RecordingChannels"),
    ],
)
def test_refuses_bad_requests_with_twilios_codes(
    changes: dict[str, list[str] | None], code: int, fragment: str
) -> None:
    with pytest.raises(SimulatorError) as refused:
        parse_call_options(_form(**changes))
    assert refused.value.code == code
    assert refused.value.status == 400
    assert fragment in refused.value.message


def test_defaults_are_twilios() -> None:
    assert parse_call_options(GOOD) == CallOptions(
        to="+919812345678", from_="+918045678901", url="https://app.test/voice"
    )


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        (
            {"StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"]},
            "status_callback_events",
            frozenset({"initiated", "ringing", "answered", "completed"}),
        ),
        (
            {"StatusCallbackEvent": ["initiated ringing"]},
            "status_callback_events",
            frozenset({"initiated", "ringing"}),
        ),
        ({"StatusCallbackEvent": []}, "status_callback_events", frozenset({"completed"})),
        ({"Timeout": ["1"]}, "timeout", 5),
        ({"Timeout": ["1000"]}, "timeout", 600),
        ({"Timeout": ["25"]}, "timeout", 25),
        ({"Record": ["true"]}, "record", True),
        ({"Record": ["True"]}, "record", True),
        ({"RecordingChannels": ["dual"]}, "recording_channels", 2),
        ({"Method": ["get"]}, "method", "GET"),
        ({"MachineDetection": ["DetectMessageEnd"]}, "machine_detection", "DetectMessageEnd"),
        ({"AsyncAmd": ["true"]}, "async_amd", True),
        (
            {"Url": None, "Twiml": ["<Response><Hangup/></Response>"]},
            "twiml",
            "<Response><Hangup/></Response>",
        ),
        ({"TimeLimit": ["120"]}, "time_limit", 120),
    ],
)
def test_reads_each_parameter(
    changes: dict[str, list[str] | None], field: str, value: object
) -> None:
    assert getattr(parse_call_options(_form(**changes)), field) == value
