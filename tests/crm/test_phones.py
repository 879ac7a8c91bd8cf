"""The E.164 shortcut in parse_phone must give exactly what phonenumbers.parse gives."""

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.phones import parse_phone


@settings(max_examples=3000)
@given(st.integers(min_value=10**9, max_value=10**10 - 1))
def test_indian_e164_shortcut_matches_phonenumbers(national: int) -> None:
    raw = f"+91{national}"
    parsed = phonenumbers.parse(raw, "IN")
    expected = (
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.is_valid_number(parsed),
    )
    assert tuple(parse_phone(raw)) == expected
