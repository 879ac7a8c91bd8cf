"""Recording media: a short, valid WAV or MP3 of silence, as Twilio serves a recording's audio."""

from __future__ import annotations

import io
import wave

# Twilio recordings are 8 kHz, 16-bit PCM.
SAMPLE_RATE = 8000
# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono, no CRC; an all-zero frame body decodes as silence.
_MP3_HEADER = bytes([0xFF, 0xFB, 0x90, 0xC0])
_MP3_FRAME_BYTES = 144 * 128_000 // 44_100  # 417


def wav_bytes(seconds: float = 1.0, channels: int = 1) -> bytes:
    """A WAV file of `seconds` of silence."""
    frames = int(SAMPLE_RATE * seconds)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(b"\x00\x00" * frames * channels)
    return buffer.getvalue()


def mp3_bytes(frames: int = 38) -> bytes:
    """An MP3 of silence: `frames` frames of 26 ms each (38 frames ≈ 1 s)."""
    frame = _MP3_HEADER + bytes(_MP3_FRAME_BYTES - len(_MP3_HEADER))
    return frame * frames
