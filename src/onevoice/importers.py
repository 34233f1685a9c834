"""File readers for bulk import: CSV, JSON Lines and Parquet, streamed record by record.

Each reader yields ``(row, record)`` pairs without loading the file whole, and says how
far it has got (bytes for the text formats, rows for Parquet) for a progress bar. ``row``
is where a record is found: its line number in CSV (the header is line 1) and JSON Lines,
its 1-based position in Parquet. CSV and JSON Lines may be gzip-compressed.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import orjson

from onevoice.domain.errors import InvalidInput
from onevoice.domain.rows import Unreadable

FORMATS = ("csv", "jsonl", "parquet")
_EXTENSIONS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_BATCH = 10_000
#: What a damaged text file raises mid-read: it stops the import with one error line.
_READ_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error)


def detect_format(path: Path) -> str:
    """The format named by the file's extension (``.gz`` looked through)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    found = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if found is None:
        raise InvalidInput(
            f"cannot tell the format of {path.name} from its extension "
            "(.csv, .jsonl, .ndjson, .json, .parquet, optionally .gz); use --format",
            field="FILE",
        )
    return found


class Reader:
    """Records of one file; use as a context manager so the file is closed."""

    format: str = ""
    unit: Literal["bytes", "rows"] = "bytes"
    #: Column names when the format has a header or schema; None for JSON Lines.
    columns: list[str] | None = None
    #: True when every value is text (CSV), so numbers need reading out of it.
    text_values: bool = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total = 0

    def rows(self) -> Iterator[tuple[int, object]]:
        raise NotImplementedError

    def position(self) -> int:
        """How much of ``total`` has been read (in ``unit``)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the file."""

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_reader(path: Path, format: str | None = None) -> Reader:
    """A reader for ``path``; :class:`InvalidInput` if it is missing or not readable."""
    if not path.exists():
        raise InvalidInput(f"{path} does not exist", field="FILE")
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file", field="FILE")
    chosen = format or detect_format(path)
    if chosen == "csv":
        return CsvReader(path)
    if chosen == "jsonl":
        return JsonLinesReader(path)
    if chosen == "parquet":
        return ParquetReader(path)
    raise InvalidInput(f"unknown format {chosen!r}; one of {', '.join(FORMATS)}", field="--format")


class _TextReader(Reader):
    """A byte stream that may be gzip-compressed; progress counts the file's own bytes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.total = path.stat().st_size
        try:
            self._file = path.open("rb")
        except OSError as error:
            raise InvalidInput(f"cannot read {path}: {error.strerror}", field="FILE") from None
        self._stream: IO[bytes] | gzip.GzipFile = self._file
        if self._file.read(2) == _GZIP_MAGIC:
            self._file.seek(0)
            self._stream = gzip.GzipFile(fileobj=self._file, mode="rb")
        else:
            self._file.seek(0)

    def position(self) -> int:
        return 0 if self._file.closed else self._file.tell()

    def close(self) -> None:
        self._stream.close()
        self._file.close()

    def _failed(self, what: str, error: Exception) -> InvalidInput:
        return InvalidInput(f"cannot read {self.path.name}: {what}: {error}", field="FILE")


class CsvReader(_TextReader):
    """CSV with a header row, UTF-8 (a byte-order mark is allowed)."""

    format = "csv"
    text_values = True

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._text = io.TextIOWrapper(self._stream, encoding="utf-8-sig", newline="")
        self._reader = csv.reader(self._text)
        try:
            header = next(self._reader, None)
        except _READ_ERRORS as error:
            self.close()
            raise self._failed("the header", error) from None
        if not header:
            self.close()
            raise InvalidInput(f"{path.name} has no header row", field="FILE")
        self.columns = [c.strip() for c in header]

    def rows(self) -> Iterator[tuple[int, object]]:
        columns = self.columns or []
        width = len(columns)
        start = self._reader.line_num + 1
        try:
            for cells in self._reader:
                if cells:
                    record: dict[str | None, object] = dict(zip(columns, cells, strict=False))
                    if len(cells) > width:
                        record[None] = cells[width:]
                    yield start, record
                start = self._reader.line_num + 1
        except _READ_ERRORS as error:
            raise self._failed(f"line {self._reader.line_num}", error) from None

    def close(self) -> None:
        if hasattr(self, "_text"):
            self._text.close()
        super().close()


class JsonLinesReader(_TextReader):
    """One JSON object per line; blank lines are skipped, a bad line is rejected alone."""

    format = "jsonl"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        try:
            start = self._stream.read(256).lstrip()
            self._stream.seek(0)
        except _READ_ERRORS as error:
            self.close()
            raise self._failed("the start", error) from None
        if start.startswith(b"["):
            self.close()
            raise InvalidInput(
                f"{path.name} holds a JSON array, not JSON Lines (one object per line); "
                "convert it with: jq -c '.[]'",
                field="FILE",
            )

    def rows(self) -> Iterator[tuple[int, object]]:
        number = 0
        try:
            for line in self._stream:
                number += 1
                if not line.strip():
                    continue
                try:
                    yield number, orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    text = line.decode("utf-8", errors="replace").rstrip("\r\n")
                    yield number, Unreadable(text, f"not valid JSON: {error}")
        except _READ_ERRORS as error:
            raise self._failed(f"line {number + 1}", error) from None


class ParquetReader(Reader):
    """Parquet, read a batch of rows at a time."""

    format = "parquet"
    unit: Literal["bytes", "rows"] = "rows"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        import pyarrow
        import pyarrow.parquet as pq

        self._errors = (pyarrow.ArrowException, OSError)
        try:
            self._file = pq.ParquetFile(path)
        except self._errors as error:
            raise InvalidInput(
                f"cannot read {path.name} as Parquet: {error}", field="FILE"
            ) from None
        self.total = int(self._file.metadata.num_rows)
        self.columns = [str(name) for name in self._file.schema_arrow.names]
        self._done = 0

    def rows(self) -> Iterator[tuple[int, object]]:
        try:
            for batch in self._file.iter_batches(batch_size=_PARQUET_BATCH):
                records: list[dict[str, Any]] = batch.to_pylist()
                for record in records:
                    self._done += 1
                    yield self._done, record
        except self._errors as error:
            raise InvalidInput(
                f"cannot read {self.path.name} after row {self._done}: {error}", field="FILE"
            ) from None

    def position(self) -> int:
        return self._done

    def close(self) -> None:
        self._file.close()


class RejectsFile:
    """Rejections as JSON Lines, one ``{row, field, message, raw}`` per line.

    The file is rewritten by each import and removed again if nothing was rejected, so
    what it holds is always the last run's rejections.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        try:
            self._file: IO[bytes] = path.open("wb")
        except OSError as error:
            raise InvalidInput(
                f"cannot write the rejects file {path}: {error.strerror} "
                "(choose another with --rejects)",
                field="--rejects",
            ) from None

    def write(self, record: dict[str, Any]) -> None:
        raw = record.get("raw")
        if isinstance(raw, Unreadable):
            record = {**record, "raw": {"line": raw.text}}
        elif isinstance(raw, dict) and None in raw:
            extra = raw[None]
            record = {**record, "raw": {**{k: v for k, v in raw.items() if k is not None}}}
            record["raw"]["(extra cells)"] = extra
        self._file.write(orjson.dumps(record, default=str, option=orjson.OPT_NON_STR_KEYS) + b"\n")
        self.count += 1

    def close(self) -> None:
        self._file.close()
        if self.count == 0:
            self.path.unlink(missing_ok=True)
