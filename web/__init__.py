"""The screens: tele-caller, QA reviewer and supervisor pages, served by the same FastAPI app."""
