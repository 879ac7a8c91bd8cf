"""A Twilio stand-in: Twilio's voice REST API subset over HTTP, the call lifecycle played against
the server's real webhooks with valid X-Twilio-Signature, TwiML execution, and simulated
borrowers (personas) answering with realistic speech, at real or accelerated clock.
"""

from dialer.simulator.app import create_simulator_app
from dialer.simulator.config import Faults, SimulatorConfig
from dialer.simulator.directory import DirectoryEntry
from dialer.simulator.personas import PersonaKind, draw_persona
from dialer.simulator.runner import SimulatorServer, start_simulator

__all__ = [
    "DirectoryEntry",
    "Faults",
    "PersonaKind",
    "SimulatorConfig",
    "SimulatorServer",
    "create_simulator_app",
    "draw_persona",
    "start_simulator",
]
