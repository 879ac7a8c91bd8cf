"""The telephony provider the settings ask for."""

from __future__ import annotations

from dialer.telephony import TwilioTelephony
from duecall.errors import ConfigurationError
from duecall.settings import Settings

TWILIO_API = "https://api.twilio.com"
# The embedded stand-in's credentials when none are configured. They only ever reach the
# simulator (DUECALL_TELEPHONY=simulator): no real call can be placed or answered with them.
SIMULATOR_ACCOUNT_SID = "AC" + "d0e" * 10 + "ca"
SIMULATOR_AUTH_TOKEN = "simulator-only-not-a-twilio-token"
SIMULATOR_CALLER_ID = "+911140000000"
SIMULATOR_PATH = "/_simulator"


def embedded_simulator(settings: Settings) -> bool:
    """Simulator mode with no other stand-in configured: the server hosts one itself."""
    return settings.telephony == "simulator" and settings.twilio_api_base_url == TWILIO_API


def credentials(settings: Settings) -> tuple[str, str, str]:
    """Account SID, auth token and caller ID; ConfigurationError names what is missing."""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
    if settings.telephony == "twilio":
        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
                ("TWILIO_AUTH_TOKEN", token),
                ("TWILIO_FROM_NUMBER", settings.twilio_from_number),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(f"DUECALL_TELEPHONY=twilio needs {', '.join(missing)}")
    return (
        settings.twilio_account_sid or SIMULATOR_ACCOUNT_SID,
        token or SIMULATOR_AUTH_TOKEN,
        settings.twilio_from_number or SIMULATOR_CALLER_ID,
    )


def telephony_for(settings: Settings) -> TwilioTelephony:
    account_sid, token, caller_id = credentials(settings)
    base = (
        settings.public_base_url + SIMULATOR_PATH
        if embedded_simulator(settings)
        else settings.twilio_api_base_url
    )
    return TwilioTelephony(
        account_sid=account_sid, auth_token=token, from_number=caller_id, api_base_url=base
    )
