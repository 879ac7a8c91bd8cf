"""The dialer: account selection, pacing, scheduling and the telephony providers."""
