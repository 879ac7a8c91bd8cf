"""Runs an import: reads and parses the CSV while a writer thread stages and merges batches.

The reader (this thread) and the writer (its own thread and connection) overlap, so parsing and
database work share the machine's cores. Memory stays flat: at most a few batches wait between
them, and the rejects file is written by reading the source again beside the rejected line
numbers. Everything happens in one transaction: the CRM tables change only if it all commits.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, delete, func, insert, select, text

from crm.imports.fields import RowError
from crm.imports.kinds import (
    KINDS,
    REJECTS,
    ImportKind,
    MergeContext,
    Parsed,
    RowContext,
    duplicate_checks,
)
from duecall.db import bulk_insert
from duecall.errors import UnreadableFile

BATCH_ROWS = 10_000
QUEUED_BATCHES = 2
Progress = Callable[[int], None]  # receives the number of bytes read so far
Buffers = dict[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class ImportResult:
    kind: str
    accepted: int
    rejected: int
    rejects_path: Path | None
    ignored_columns: tuple[str, ...]


def rejects_path_for(path: Path) -> Path:
    """`accounts.csv` → `accounts.rejects.csv`."""
    stem = path.name[: -len(".csv")] if path.name.lower().endswith(".csv") else path.name
    return path.with_name(f"{stem}.rejects.csv")


def import_file(
    engine: Engine,
    kind_name: str,
    path: Path,
    *,
    zone: ZoneInfo,
    now: datetime,
    on_progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportResult:
    """Import `path` as `kind_name`.

    Raises UnreadableFile, having written nothing, when the file cannot be read at all.
    """
    kind = KINDS[kind_name]
    rejects_path = rejects_path_for(path)
    with _CsvSource(path) as source:
        ignored = source.check_header(kind)
        ctx = RowContext(zone=zone, today=now.astimezone(zone).date())
        writer = _Writer(engine, kind, MergeContext(now=now), path, rejects_path)
        writer.start()
        try:
            for batch in _batches(kind, source, ctx, on_progress, batch_rows):
                writer.put(batch)
        except BaseException:
            writer.abort()
            raise
        accepted, rejected = writer.finish()
    # Committed: only now does the rejects file replace any earlier one.
    if rejected:
        writer.partial_rejects.replace(rejects_path)
    else:
        rejects_path.unlink(missing_ok=True)
    return ImportResult(
        kind=kind_name,
        accepted=accepted,
        rejected=rejected,
        rejects_path=rejects_path if rejected else None,
        ignored_columns=ignored,
    )


def parse_record(
    kind: ImportKind, ctx: RowContext, header: list[str], fields: list[str]
) -> Parsed | str:
    """A record's staging tuples, or the reason it is rejected."""
    if len(fields) != len(header):
        return f"the row has {len(fields)} fields, the header has {len(header)}"
    try:
        return kind.parse(dict(zip(header, fields, strict=True)), ctx)
    except RowError as exc:
        return str(exc)


def _batches(
    kind: ImportKind,
    source: _CsvSource,
    ctx: RowContext,
    on_progress: Progress | None,
    batch_rows: int,
) -> Iterator[Buffers]:
    names = [t.name for t in (*kind.tables, REJECTS)]
    buffers: Buffers = {name: [] for name in names}
    for rows, (line, fields) in enumerate(source.raw_rows(), start=1):
        parsed = parse_record(kind, ctx, source.header, fields)
        if isinstance(parsed, str):
            buffers[REJECTS.name].append((line, parsed))
        else:
            for name, tuples in parsed.items():
                buffers[name].extend((line, *t) for t in tuples)
        if rows % batch_rows == 0:
            yield buffers
            buffers = {name: [] for name in names}
            if on_progress is not None:
                on_progress(source.bytes_read())
    yield buffers
    if on_progress is not None:
        on_progress(source.bytes_read())


_DONE = object()
_ABORT = object()


class _Aborted(Exception):
    """The reader failed; the writer rolls back."""


@dataclass
class _Writer:
    """Owns the connection and the transaction; stages, checks and merges each batch."""

    engine: Engine
    kind: ImportKind
    ctx: MergeContext
    source_path: Path
    rejects_path: Path
    _queue: queue.Queue[object] = field(default_factory=lambda: queue.Queue(QUEUED_BATCHES))
    _thread: threading.Thread | None = None
    _error: BaseException | None = None
    _counts: tuple[int, int] = (0, 0)

    @property
    def partial_rejects(self) -> Path:
        return self.rejects_path.with_name(self.rejects_path.name + ".partial")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="duecall-import-writer", daemon=True)
        self._thread.start()

    def put(self, item: object) -> None:
        """Hand over a batch; raises the writer's error if it has failed."""
        assert self._thread is not None
        while True:
            if self._error is not None or not self._thread.is_alive():
                self._raise()
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def finish(self) -> tuple[int, int]:
        """Wait for the commit; returns (accepted, rejected)."""
        self.put(_DONE)
        assert self._thread is not None
        self._thread.join()
        if self._error is not None:
            self._raise()
        return self._counts

    def abort(self) -> None:
        assert self._thread is not None
        if self._thread.is_alive():
            # If the writer is stuck in the database, its daemon thread dies with the process.
            with contextlib.suppress(queue.Full):
                self._queue.put(_ABORT, timeout=5)
            self._thread.join(timeout=60)
        self.partial_rejects.unlink(missing_ok=True)

    def _raise(self) -> None:
        error = self._error or RuntimeError("the import writer stopped unexpectedly")
        raise error

    def _run(self) -> None:
        kind = self.kind
        tables = (*kind.tables, kind.seen, *kind.work_tables, REJECTS)
        try:
            with self.engine.connect() as conn:
                try:
                    with conn.begin():
                        for table in tables:
                            table.create(conn)
                        self._merge_batches(conn)
                        kind.finish(conn, self.ctx)
                        accepted = conn.scalar(select(func.count()).select_from(kind.seen)) or 0
                        rejected = conn.scalar(select(func.count()).select_from(REJECTS)) or 0
                        if rejected:
                            _write_rejects(conn, self.source_path, self.partial_rejects)
                    self._counts = (accepted, rejected)
                finally:
                    if conn.in_transaction():
                        conn.rollback()
                    with conn.begin():
                        for table in tables:
                            conn.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
        except BaseException as exc:  # handed to the reader thread, which raises it
            self._error = exc

    def _merge_batches(self, conn: Connection) -> None:
        kind = self.kind
        checks = [*duplicate_checks(kind), *kind.checks()]
        main, seen = kind.main, kind.seen
        postgres = conn.dialect.name == "postgresql"
        for batch_number in itertools.count():
            item = self._queue.get()
            if item is _DONE:
                return
            if item is _ABORT:
                raise _Aborted
            assert isinstance(item, dict)
            for name, rows in item.items():
                bulk_insert(conn, name, rows)
            if postgres and batch_number % 10 == 0:
                # Autovacuum never analyzes temporary tables; without up-to-date statistics the
                # planner would scan the growing table of seen keys instead of probing its index.
                conn.execute(text(f"ANALYZE {seen.name}"))
            rejected_lines = select(REJECTS.c.line)
            for check in checks:
                conn.execute(REJECTS.insert().from_select(["line", "reason"], check.rejected))
                conn.execute(delete(main).where(main.c.line.in_(rejected_lines)))
            for table in kind.tables[1:]:
                conn.execute(delete(table).where(table.c.line.in_(rejected_lines)))
            key = [c.name for c in seen.columns]
            conn.execute(insert(seen).from_select(key, select(*(main.c[k] for k in key))))
            kind.merge(conn, self.ctx)
            for table in kind.tables:
                # TRUNCATE: after DELETE, PostgreSQL would scan every earlier batch's dead rows.
                conn.execute(text(f"TRUNCATE {table.name}") if postgres else delete(table))


def _write_rejects(conn: Connection, source_path: Path, target: Path) -> None:
    """The rejected rows as they were in the file, each with its line number and reason."""
    rejects = conn.execute(select(REJECTS.c.line, REJECTS.c.reason).order_by(REJECTS.c.line))
    with _CsvSource(source_path) as source, target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "reason", *source.header])
        pending = iter(rejects)
        wanted = next(pending, None)
        for line, fields in source.raw_rows():
            if wanted is None:
                break
            if line == wanted.line:
                writer.writerow([line, wanted.reason, *fields])
                wanted = next(pending, None)


class _CsvSource:
    """A CSV file read as a stream of (line number, fields) with its header checked."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise UnreadableFile(str(path), "no such file")
        if not path.is_file():
            raise UnreadableFile(str(path), "not a regular file")
        self.path = path
        self._raw: IO[bytes] = path.open("rb")
        self._physical_line = 0
        self._reader = csv.reader(self._decoded_lines(), strict=True)
        try:
            header = next(self._reader)
        except StopIteration:
            self.close()
            raise UnreadableFile(str(path), "the file is empty; expected a header row") from None
        except (UnreadableFile, csv.Error) as exc:
            self.close()
            raise UnreadableFile(str(path), f"not a UTF-8 CSV file ({exc})") from None
        self.header = [name.strip() for name in header]

    def _decoded_lines(self) -> Iterator[str]:
        """The file's lines as text, so that a byte that is not UTF-8 is reported on its line."""
        for raw in self._raw:
            self._physical_line += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise UnreadableFile(
                    str(self.path), f"line {self._physical_line}: not UTF-8 text"
                ) from None
            yield text.removeprefix("\ufeff") if self._physical_line == 1 else text

    def __enter__(self) -> _CsvSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._raw.close()

    def bytes_read(self) -> int:
        return self._raw.tell()

    def check_header(self, kind: ImportKind) -> tuple[str, ...]:
        """Refuse a header without the kind's required columns; return the ignored columns."""
        repeated = sorted({n for n in self.header if self.header.count(n) > 1})
        if repeated:
            raise UnreadableFile(
                str(self.path), f"repeated columns in the header: {', '.join(repeated)}"
            )
        missing = [c for c in kind.required if c not in self.header]
        if missing:
            hint = ""
            if len(self.header) == 1 and any(sep in self.header[0] for sep in ";\t|"):
                hint = (
                    " (the header has one column: "
                    "is the file separated by something else than commas?)"
                )
            raise UnreadableFile(
                str(self.path),
                f"missing required columns for {kind.name}: {', '.join(missing)}{hint}",
            )
        return tuple(n for n in self.header if n not in kind.columns)

    def raw_rows(self) -> Iterator[tuple[int, list[str]]]:
        """(first line of the record, fields) for every non-blank record."""
        end = self._reader.line_num
        while True:
            start = end + 1
            try:
                fields = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise UnreadableFile(str(self.path), f"line {start}: {exc}") from None
            end = self._reader.line_num
            if fields and any(field.strip() for field in fields):
                yield start, fields


def describe(result: ImportResult) -> str:
    """One line for people: counts, and where the rejects went."""
    parts = [f"{result.kind}: accepted {result.accepted}, rejected {result.rejected}"]
    if result.rejects_path is not None:
        parts.append(f"rejected rows with line and reason: {result.rejects_path}")
    if result.ignored_columns:
        parts.append(f"ignored columns: {', '.join(result.ignored_columns)}")
    return "; ".join(parts)
