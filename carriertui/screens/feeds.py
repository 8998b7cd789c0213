"""Feeds: one status line per CDR spool directory (`[feeds] spool` in the config): files
ingested, rows, CDRs imported, rejects, files waiting, the last file and the last error, as the
spool's watcher (`carriertui cdr watch DIR`) or cron job (`cdr ingest DIR`) left them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from carriertui.screens.base import BaseScreen
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.plain import plain
from carriertui.widgets.work import run_service

REFRESH_S = 5.0


def status_lines(directories: tuple[Path, ...]) -> list[str]:
    """The text of each spool's status (read from its status file; no database)."""
    from carriertui.store import spool

    lines = []
    for directory in directories:
        if not directory.is_dir():
            lines.append(f"{directory}: not a directory (check [feeds] spool)")
            continue
        status = spool.status(directory)
        waiting = spool.waiting(directory)
        if not status["updated_at"]:
            lines.append(f"{directory}: nothing ingested yet, {waiting} files waiting")
            continue
        text = (
            f"{directory}: {status['files']} files, {status['rows']:,} rows, "
            f"{status['imported']:,} CDRs imported, {status['rejects']:,} rejected, "
            f"{waiting} waiting; last {status['last_file']} at {status['updated_at']}"
        )
        text += f"; last error: {status['last_error']}" if status["last_error"] else ""
        lines.append(text)
    return lines


class FeedsScreen(BaseScreen):
    TITLE_TEXT = "Feeds"
    HELP = (
        "The CDR spools of [feeds] spool in the config, one status line each: files ingested, "
        "rows read, CDRs imported, rows rejected, files waiting, the last file and the last "
        "error. `carriertui cdr watch DIR` (or `cdr ingest DIR` from cron) does the ingesting; "
        "this screen reads what it left, every 5 seconds.\n\n"
        "{feeds.refresh} refreshes now; {feeds.back} goes back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh", id="feeds.refresh"),
        Binding("escape", "back", "Back", id="feeds.back"),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Label(
            plain("Switch CDR spools ([feeds] spool). r refreshes."),
            classes="tab-hint",
            markup=False,
        )
        with VerticalScroll(id="feeds-lines"):
            yield Static(plain("Reading the spools..."), id="feeds-status", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.action_refresh()
        self.set_interval(REFRESH_S, self.action_refresh)

    def action_refresh(self) -> None:
        from carriertui.locations import ConfigError, feeds_spools

        def work() -> list[str]:
            try:
                directories = feeds_spools()
            except ConfigError as error:
                return [str(error)]
            if not directories:
                return ["No spool directories: set [feeds] spool in the config."]
            return status_lines(directories)

        run_service(self, work, on_done=self._show, group="feeds", exclusive=True)

    def _show(self, lines: Any) -> None:
        self.query_one("#feeds-status", Static).update(plain("\n".join(lines), multiline=True))

    def action_back(self) -> None:
        self.dismiss()
