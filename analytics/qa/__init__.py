"""QA sampling, automatic flags on transcripts, scorecards and reviews."""
