"""CSV imports of accounts, calls, payments and snapshots (`duecall import`)."""

from crm.imports.runner import ImportResult, describe, import_file, rejects_path_for

__all__ = ["ImportResult", "describe", "import_file", "rejects_path_for"]
