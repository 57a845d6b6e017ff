"""Reading and checking a big CSV file of tickets in a second process while this one writes.

Reading and checking is a third of an import's time; on two cores a second process takes it off
the writer (1M tickets: 36-38 s in one process, 29-32 s in two).
"""

from __future__ import annotations

import gc
from datetime import datetime
from typing import Any, Iterator

from carecli.core.config import Settings
from carecli.core.errors import InvalidInput, StoreError
from carecli.data.importing.importer import Importer
from carecli.data.importing.mapping import Mapping
from carecli.data.importing.reading import SourceRow, open_input, read_rows
from carecli.data.importing.tickets import from_wire, to_wire
from carecli.data.importing.values import RowError


def batches_from_worker(importer: Importer, path: str) -> Iterator[list[tuple[SourceRow, Any]]]:
    """`Importer.parsed` run by a second process over the file at `path`: its batches, and its rejects
    handed to `reject` here. Reading and checking is a third of an import's time: 1M tickets
    took 36-38 s in one process and 29-32 s in two, on two cores."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited
    receiving, sending = context.Pipe(duplex=False)
    worker = context.Process(
        target=_parse_in_worker,
        daemon=True,
        args=(
            sending,
            path,
            importer.settings,
            importer.entity,
            importer.v.mapping,
            importer.on_duplicate,
            importer.now,
            importer.file_label,
        ),
    )
    worker.start()
    sending.close()  # only the worker writes: its death then ends recv() with EOFError
    header = importer.v.header
    try:
        while True:
            try:
                kind, payload, rejects = receiving.recv()
            except EOFError:
                raise StoreError("the process reading the file stopped; nothing imported") from None
            count, kept = rejects
            for line, record, extra, (field_name, value, reason) in kept:
                importer.reject(SourceRow(line, record, header, extra), RowError(field_name, value, reason))
            importer.report.rejected += count - len(kept)  # rows beyond what the worker's report keeps
            if kind == "rows":
                yield [(SourceRow(line, None, header), from_wire(parsed)) for line, parsed in payload]
            elif kind == "error":
                raise InvalidInput(*payload)
            elif kind == "crash":
                raise RuntimeError(f"reading {importer.file_label}: {payload}")
            else:
                return
    finally:
        receiving.close()
        worker.join(timeout=5)
        if worker.is_alive():
            worker.kill()


def parse_aside(entity: str, source_format: str, path: str, on_duplicate: str, *, bulk: bool) -> bool:
    """Whether to read and check the rows in a second process while this one writes: for bulk loads
    of tickets from a CSV file. Not with --on-duplicate error, whose rejects need every row's cells."""
    return bulk and entity == "tickets" and source_format == "csv" and path != "-" and on_duplicate != "error"


def _parse_in_worker(
    out, path: str, settings: Settings, entity: str, mapping: Mapping, on_duplicate: str, now: datetime, file_label: str
) -> None:
    """The second process of `batches_from_worker`: sends ("rows", [(line, parsed)],
    rejects) per batch, then ("done", None, rejects), or ("error", (message, hint), rejects), where
    rejects = (rows rejected since the last message, [(line, cells, extra, (column, value, reason))])."""
    import signal

    gc.disable()  # as in Importer.run
    # Ctrl-C reaches the whole process group: the importer handles it, and this process then stops
    # at its next send instead of printing a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    sent = 0

    def rejects() -> tuple[int, list]:
        """The rows rejected since the last call: how many, and those the report kept."""
        nonlocal sent
        if importer is None:
            return 0, []
        report = importer.report
        kept = [(row.line, row.record, row.extra, (exc.field, exc.value, exc.reason)) for row, exc in report.rejects]
        report.rejects.clear()
        count, sent = report.rejected - sent, report.rejected
        return count, kept

    importer: Importer | None = None
    try:
        try:
            stream = open_input(path)
            header, rows = read_rows(stream, "csv")
            importer = Importer(
                None, settings, entity, mapping, header, on_duplicate=on_duplicate, now=now, file_label=file_label
            )
            for batch in importer.parsed(rows):
                out.send(("rows", [(row.line, to_wire(parsed)) for row, parsed in batch], rejects()))
            out.send(("done", None, rejects()))
        except InvalidInput as exc:
            out.send(("error", (exc.message, exc.hint), rejects() if importer else (0, [])))
        except OSError:
            raise
        except Exception as exc:  # a bug: reported by the importer, on one line like any other
            out.send(("crash", f"{type(exc).__name__}: {exc}", (0, [])))
    except OSError:
        pass  # the importer is gone (killed, or stopped on an error), and with it the point of going on
