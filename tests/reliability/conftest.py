"""The dialer's fixtures (an app context on the test database with a fixed clock, a fake
provider), for the clock tests."""

from tests.dialer.conftest import context, telephony

__all__ = ["context", "telephony"]
