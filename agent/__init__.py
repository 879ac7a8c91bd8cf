"""The conversation agent: understanding borrowers, deciding the next step and speaking it."""
