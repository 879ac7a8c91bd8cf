"""The dialer: campaigns, selection and claiming, pacing, scheduling, telephony providers."""
