"""Importing a rate deck from the Rate Cards screen: where the file is and which card, then a
progress bar while its rows are checked and written, and the reject report when it is refused.

The import is the service's (store/rates.py import_deck): all or nothing, one audit entry, and
only for operators and admins (the service refuses a viewer whatever the screen shows). While
the rows are being checked the import can be cancelled: nothing has been written yet. Once
they are written it runs to its end (one transaction).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, ProgressBar, Select, Static, TextArea

from carriertui.screens.base import report_error, run_service
from carriertui.text import sanitize
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.plain import notify_plain, plain

KIND_CHOICES = [("customer (charges)", "customer"), ("provider (costs)", "provider")]


class ImportCancelled(Exception):
    """The operator cancelled while the rows were being checked: nothing was written."""


class ImportDeckScreen(ModalScreen[Any]):
    """The deck's path, the card (the one selected, or a new name: then its currency and
    kind), and the deck's date. Import runs the service in a worker; the dialog closes with
    the service's report, or stays open with the reason (the rejects in their own list)."""

    HELP = (
        "Import a rate deck CSV (the header names prefix, destination, rate, connect_fee, mcd, "
        "pulse, effective_from and optionally effective_to, in any order). Any bad line refuses "
        "the whole file and every bad line is listed. A deck is the whole card from its date "
        "on: the card's rates in force then end there, and nothing is deleted. A new card "
        "name creates the card (give its currency). {deck_import.run} imports; "
        "{deck_import.cancel} closes, or while the rows are being checked cancels (nothing is "
        "written)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "run", "Import", id="deck_import.run"),
        Binding("escape", "cancel", "Close", id="deck_import.cancel"),
    ]
    DEFAULT_CSS = """
    ImportDeckScreen #deck-status { width: 1fr; height: auto; }
    ImportDeckScreen #deck-progress { margin: 1 0 0 0; }
    """

    def __init__(self, card_name: str = "") -> None:
        super().__init__()
        self._card = card_name
        self.running = False
        self.writing = False
        self.cancel_event = threading.Event()
        self.last_error: Exception | None = None  # what the last try ended with (tests read it)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="deck-dialog"):
            yield Static("Import a rate deck", classes="dialog-title")
            with Form(id="deck-form"):
                yield FieldRow(
                    "File",
                    Input(id="deck-path", compact=True, placeholder="path/to/deck.csv"),
                    field="path",
                )
                yield FieldRow(
                    "Card",
                    Input(self._card, id="deck-card", compact=True, max_length=64),
                    field="card",
                    hint="The card to import into; a new name creates the card",
                )
                yield FieldRow(
                    "Effective (UTC)",
                    Input(
                        id="deck-effective",
                        compact=True,
                        max_length=32,
                        placeholder="the deck's earliest effective_from",
                    ),
                    field="effective",
                )
                yield FieldRow(
                    "Currency (new card)",
                    Input(id="deck-currency", compact=True, max_length=3, placeholder="e.g. EUR"),
                    field="currency",
                )
                yield FieldRow(
                    "Kind (new card)",
                    Select(
                        KIND_CHOICES,
                        prompt="customer, or the card's own",
                        id="deck-kind",
                        compact=True,
                    ),
                    field="kind",
                )
            yield Static("", id="deck-status", markup=False)
            yield ProgressBar(id="deck-progress", show_eta=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import (ctrl+s)", id="deck-run", variant="primary", compact=True)
                yield Button("Close (esc)", id="deck-close", compact=True)

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False
        self.query_one("#deck-path", Input).focus()

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#deck-status", Static).update(plain(text, style=style))

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        controls = [row.control for row in self.query_one(Form).rows()]
        index = controls.index(event.input)
        if index + 1 < len(controls):
            controls[index + 1].focus()
        else:
            self.action_run()

    @on(Button.Pressed, "#deck-run")
    def action_run(self) -> None:
        from carriertui.store.rate_deck import parse_moment

        if self.running:
            return
        form = self.query_one(Form)
        form.clear_errors()
        values = form.values()
        text = str(values["path"] or "").strip()
        if not text:
            form.show_error("path", "is required: the deck's file")
            return
        path = Path(text).expanduser()
        if not path.is_file():
            form.show_error("path", f"no such file: {path}")
            return
        card = str(values["card"] or "").strip()
        if not card:
            form.show_error("card", "is required")
            return
        effective = None
        if moment := str(values["effective"] or "").strip():
            try:
                effective = parse_moment(moment)
            except ValueError:
                form.show_error("effective", "a date (2026-03-01) or a date-time, in UTC")
                return
        currency = str(values["currency"] or "").strip() or None
        kind = values.get("kind")
        self._start(path, card, effective, currency, kind)

    def _start(self, path: Path, card: str, effective: Any, currency: Any, kind: Any) -> None:
        from carriertui.store import rates
        from carriertui.store.rate_deck import estimate_rows

        app: Any = self.app
        db, actor = app.db, app.actor
        self.running = True
        self.writing = False
        self.cancel_event.clear()
        self.query_one("#deck-run", Button).disabled = True
        bar = self.query_one(ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self._status(f"Checking the rows of {path.name}…")
        cancel = self.cancel_event

        def work() -> Any:
            total = estimate_rows(path)
            app.call_from_thread(self._progress, 0, total, False)

            def checked(rows: int, done: bool) -> None:
                if cancel.is_set():
                    raise ImportCancelled
                app.call_from_thread(self._progress, rows, total, done)

            return rates.import_deck(
                db,
                actor,
                path,
                card,
                effective=effective,
                currency=currency,
                kind=kind,
                on_progress=checked,
            )

        run_service(self, work, on_done=self._done, on_error=self._failed, group="deck-import")

    def _progress(self, rows: int, total: int, done: bool) -> None:
        if not self.running:
            return
        bar = self.query_one(ProgressBar)
        if done:
            self.writing = True
            bar.update(total=rows or 1, progress=rows or 1)
            self._status(f"Checked {rows:,} lines; writing the rates (one transaction)…")
            return
        bar.update(total=max(total, rows) or None, progress=rows)
        self._status(f"Checking the rows: {rows:,} of about {total:,}…")

    def _finish(self) -> None:
        self.running = False
        self.writing = False
        self.query_one("#deck-run", Button).disabled = False
        self.query_one(ProgressBar).display = False

    def _done(self, report: Any) -> None:
        self._finish()
        self.last_error = None
        self.dismiss(report)

    def _failed(self, error: Exception) -> None:
        from carriertui.store.rate_deck import DeckError

        self._finish()
        self.last_error = error
        if isinstance(error, ImportCancelled):
            self._status("Import cancelled: nothing was imported.", "$warning")
            return
        if isinstance(error, DeckError):
            self._status(str(error), "$error")
            self.app.push_screen(RejectsScreen(error))
            return
        if self.query_one(Form).show_validation_error(error):
            self._status("Nothing was imported.", "$error")
            return
        self._status(f"Nothing was imported: {error}", "$error")
        report_error(self.app, error)

    @on(Button.Pressed, "#deck-close")
    def action_cancel(self) -> None:
        if not self.running:
            self.dismiss(None)
            return
        if self.writing:
            self._status("Writing the rates: an import is all or nothing, it ends in a moment…")
            return
        self.cancel_event.set()
        self._status("Cancelling…", "$warning")


def reject_report(error: Any) -> str:
    """The bad lines, one a line: ``line 3: rate: must not be negative (-1); ...``."""
    report = "\n".join(str(bad) for bad in error.errors)
    if error.count > len(error.errors):
        report += f"\n... and {error.count - len(error.errors):,} more bad lines"
    return report


class RejectsScreen(ModalScreen[None]):
    """The reject report of a refused deck: every bad line (the first 1,000) with all its
    reasons, wrapped so each reason is read whole; ``c`` copies the report."""

    HELP = (
        "The deck was refused and nothing was imported. Each line of the report is a bad line "
        "of the file (line 1 is the header) with all its reasons. {deck_rejects.copy} copies "
        "the report; fix the file and import it again. {deck_rejects.close} closes."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="deck_rejects.close"),
        Binding("c", "copy", "Copy", id="deck_rejects.copy"),
    ]
    DEFAULT_CSS = """
    RejectsScreen > .dialog { height: 90%; }
    RejectsScreen #rejects-text { height: 1fr; }
    RejectsScreen #rejects-summary { width: 1fr; height: auto; }
    """

    def __init__(self, error: Any) -> None:
        super().__init__()
        self.error = error
        self.report = reject_report(error)

    def compose(self) -> ComposeResult:
        error = self.error
        shown = len(error.errors)
        lines = "1 bad line" if error.count == 1 else f"{error.count:,} bad lines"
        summary = f"{lines}; nothing was imported."
        if error.count > shown:
            summary += f" The first {shown:,} are listed."
        with Vertical(classes="dialog", id="rejects-dialog"):
            yield Static("Rate deck refused", classes="dialog-title")
            yield Static(plain(summary), id="rejects-summary")
            # Read only, plain text with control characters made visible: a reason quotes the
            # file's cells (formulas, markup), which must show as the text they are.
            yield TextArea(
                sanitize(self.report, multiline=True),
                read_only=True,
                soft_wrap=True,
                show_line_numbers=False,
                id="rejects-text",
            )
            yield Static("c copies the report · Esc closes", classes="tab-hint")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.report)
        notify_plain(self.app, "Copied the reject report", timeout=2)

    def action_close(self) -> None:
        self.dismiss(None)
