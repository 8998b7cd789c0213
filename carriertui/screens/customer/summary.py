"""The customer's Summary tab: 24 hours, Daily, Weekly and Monthly call summaries (UTC) on the
grid, a chart of minutes and ASR for the rows in view, selection maths with the weighted ASR and
ACD, Generate Invoice, Auto Generate, the CDR report, and the customer's invoices."""

from __future__ import annotations

import weakref
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label

from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column, ColumnType, Query, RowSource, SortKey
from carriertui.screens.base import report_error, run_service, save_with_reason
from carriertui.store.summary import Summary, SummaryView
from carriertui.widgets.grid import Grid, Selection
from carriertui.widgets.grid.status import FitLine, Part
from carriertui.widgets.plain import notify_plain, plain
from carriertui.widgets.sparkline import Sparkline

# The tab's paragraph of the Customer screen's F1 help.
TAB_HELP = (
    "Summary: {summary.24h} 24 hours, {summary.daily} Daily, {summary.weekly} Weekly, "
    "{summary.monthly} Monthly (UTC), {summary.invoices} Invoices. Select cells for sum and "
    "average (the status line adds the weighted ASR and ACD of the selected rows; "
    "{grid.status} shows every figure); {grid.find_column} goes to a column by its title, "
    "{grid.select_to_last} selects to the last row; {grid.menu} copies or exports. Tick rows "
    "with {grid.check} and press {summary.generate} to Generate Invoice for the ticked "
    "periods (closed ones only); {summary.auto} creates every missing invoice; "
    "{summary.cdr_report} writes the row's CDR report; {summary.rollup} rolls up new CDRs "
    "now; {summary.paid} marks an invoice paid; {summary.chart} shows or hides the chart."
)

VIEWS = (
    ("24h", "24 hours"),
    ("daily", "Daily"),
    ("weekly", "Weekly"),
    ("monthly", "Monthly"),
    ("invoices", "Invoices"),
)
NEWEST_FIRST = Query(sort=(SortKey("period_start", descending=True),))
INVOICE_COLUMN = Column("invoice", "Invoice", width=11, group="Invoice")
SPARK_POINTS = 60
# Money as stored (4 places, as CDR charges are): the cells of a selection then add up to its
# sum to the last digit, and a day's Customer Charge reads as its invoice's subtotal.
MONEY_PLACES = 4
# Below this many rows the chart starts collapsed: at 80x24 its two rows go to the grid.
CHART_MIN_HEIGHT = 32
# Whether the chart is shown, per app (an operator's session): set by `t`, kept across
# customers and tabs until the app ends.
_chart_shown: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _duration(seconds: Decimal | int | None) -> str:
    if seconds is None:
        return "\u2014"
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def summary_source(summary: Summary, invoices: dict[datetime, str]) -> InMemoryRowSource:
    """The summary rows plus an Invoice column; the open period's label says it is partial."""
    from carriertui.store.periods import period_label
    from carriertui.store.summary import summary_grid_rows

    kind = summary.view.period
    partial = summary.partial_row.period_start if summary.partial_row else None

    def label(value: datetime) -> str:
        text = period_label(kind, value)
        return f"{text} \u25d4" if value == partial else text

    columns = [
        replace(column, places=MONEY_PLACES, width=(column.width or 13) + 2)
        if column.type is ColumnType.MONEY
        else column
        for column in summary.columns  # the portal's BilledSummary has no Cost or Profit
    ]
    first = columns[0]
    columns[0] = Column(
        first.key,
        first.title,
        first.type,
        width=(first.width or 12) + 2,
        formatter=label,
        group=first.group,
    )
    columns.append(INVOICE_COLUMN)
    rows = [(key, (*values, invoices.get(key))) for key, values in summary_grid_rows(summary)]
    code = summary.customer_code or str(summary.customer_id)
    return InMemoryRowSource(
        columns, rows, name=f"summary-{code}-{summary.view.value}", key_columns=(first.key,)
    )


class SummaryPane(Vertical):
    """Everything on the Summary tab. Its keys work while focus is inside it."""

    DEFAULT_CSS = """
    SummaryPane { height: 1fr; }
    SummaryPane > #summary-views { height: 1; padding: 0 0 0 1; }
    SummaryPane > #summary-views Button { margin: 0 1 0 0; min-width: 6; }
    SummaryPane > #summary-views Button.-active { text-style: bold reverse; }
    SummaryPane > #summary-views #summary-info { color: $text-muted; }
    SummaryPane > #summary-chart { height: 2; }
    /* Every row for the grid: the pinned Period and a cut column at the right edge say
       there is more to scroll to. */
    SummaryPane #summary-grid DataGrid { scrollbar-size-horizontal: 0; }
    SummaryPane > #summary-chart Sparkline { width: 1fr; height: 1; }
    SummaryPane > #summary-chart .chart-label { width: 20; height: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "view('24h')", "24 h", id="summary.24h", show=False),
        Binding("2", "view('daily')", "Daily", id="summary.daily", show=False),
        Binding("3", "view('weekly')", "Weekly", id="summary.weekly", show=False),
        Binding("4", "view('monthly')", "Monthly", id="summary.monthly", show=False),
        Binding("5", "view('invoices')", "Invoices", id="summary.invoices", show=False),
        Binding("i", "generate", "Invoice", id="summary.generate", tooltip="Generate Invoice"),
        Binding("I", "auto_generate", "Auto invoices", id="summary.auto", show=False),
        Binding("c", "cdr_report", "CDRs", id="summary.cdr_report", tooltip="CDR report (CSV)"),
        Binding("p", "mark_paid", "Paid", id="summary.paid", show=False),
        Binding("u", "rollup", "Update", id="summary.rollup", show=False),
        Binding(
            "t",
            "toggle_chart",
            "Chart",
            id="summary.chart",
            show=False,
            tooltip="Show or hide the chart (remembered until you quit)",
        ),
    ]

    def __init__(
        self, customer_id: int, *, actor: Any = None, read_only: bool = False, id: str | None = None
    ) -> None:
        """``actor``: whom the reads are made as (default: the logged-in operator; the portal
        passes its contact's). ``read_only``: no invoices, CDR reports or roll-ups (the portal);
        the grid's copy and export stay."""
        super().__init__(id=id)
        self.customer_id = customer_id
        self._actor = actor
        self.read_only = read_only
        self.view = SummaryView.DAILY.value
        self.summary: Summary | None = None
        self._window: tuple[int, int] | None = None
        # Ticked rows per view, by row key (a period's start): they survive re-reads, roll-ups
        # that add rows, and switching views and back.
        self._ticks: dict[str, set[Any]] = {}
        self._shown_view: str | None = None  # whose rows the grid holds now
        self._info: list[Part] = []

    @property
    def _app(self) -> Any:
        return self.app

    @property
    def actor(self) -> Any:
        return self._actor if self._actor is not None else self._app.actor

    @property
    def can_edit(self) -> bool:
        actor = self.actor
        from carriertui.store.enums import Role

        return not self.read_only and actor is not None and actor.can(Role.OPERATOR)

    def compose(self) -> ComposeResult:
        with Horizontal(id="summary-views"):
            for key, _title in VIEWS:
                yield Button(self._view_label(key), id=f"view-{key}", compact=True)
            yield FitLine(id="summary-info")
        with Vertical(id="summary-chart"):
            with Horizontal():
                yield Label("", id="chart-minutes-label", classes="chart-label", markup=False)
                yield Sparkline([], id="chart-minutes")
            with Horizontal():
                yield Label("", id="chart-asr-label", classes="chart-label", markup=False)
                yield Sparkline([], id="chart-asr")
        yield Grid(
            InMemoryRowSource([INVOICE_COLUMN], [], name="summary"),
            query=NEWEST_FIRST,
            checkable=True,
            extra_aggregates=self._weighted,
            id="summary-grid",
        )

    def on_mount(self) -> None:
        self._mark_view()
        self._place_chart()
        self._set_info([("Loading…", 0)])
        self.set_interval(0.25, self._follow_scroll)

    @property
    def grid(self) -> Grid:
        return self.query_one("#summary-grid", Grid)

    def focus_default(self) -> None:
        self.grid.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("generate", "auto_generate", "mark_paid"):
            return self.can_edit
        if action in ("cdr_report", "rollup"):
            return not self.read_only
        return True

    # -- loading ----------------------------------------------------------------------------

    # -- the chart's place ------------------------------------------------------------------

    @property
    def chart_shown(self) -> bool:
        shown = _chart_shown.get(self.app)
        return self.app.size.height >= CHART_MIN_HEIGHT if shown is None else shown

    def action_toggle_chart(self) -> None:
        _chart_shown[self.app] = not self.chart_shown
        self._place_chart()
        self._set_info(self._info)

    def _place_chart(self) -> None:
        self.query_one("#summary-chart").display = self.chart_shown and self.view != "invoices"
        self._window = None

    def _set_info(self, parts: list[Part]) -> None:
        """The line beside the view switch; its least important parts go when it is narrow."""
        self._info = parts
        hint: list[Part] = []
        if not self.chart_shown and self.view != "invoices":
            hint.append(("t shows the chart", 6))
        self.query_one("#summary-info", FitLine).set_parts([*parts, *hint])

    # -- ticks: by period, per view ---------------------------------------------------------

    def _stash_ticks(self) -> None:
        if self._shown_view is not None:
            self._ticks[self._shown_view] = set(self.grid.view.checked)

    def _restore_ticks(self, keys: set[Any]) -> None:
        """After the grid took new rows: tick again the periods ticked in this view that are
        still there (a rolling 24-hour view drops its oldest hour)."""
        self._shown_view = self.view
        kept = self._ticks.get(self.view, set()) & keys
        self._ticks[self.view] = kept
        self.grid.view.checked.update(kept)
        self.grid.view.refresh()

    def load(self) -> None:
        if self.view == "invoices":
            self._load_invoices()
            return
        from carriertui.store import invoices, summary

        app = self._app
        db, actor, customer_id, view = app.db, self.actor, self.customer_id, self.view

        def read() -> tuple[Summary, dict[datetime, str]]:
            result = summary.customer_summary(db, actor, customer_id, view)
            numbers: dict[datetime, str] = {}
            if view != SummaryView.HOURS_24.value:
                numbers = invoices.invoice_numbers(db, actor, customer_id, view)
            return result, numbers

        run_service(self, read, on_done=self._show, group="summary-load", exclusive=True)

    def _show(self, result: tuple[Summary, dict[datetime, str]]) -> None:
        summary, numbers = result
        if summary.view.value != self.view:
            return  # the operator switched views while this was read: a newer load follows
        self.summary = summary
        self._stash_ticks()
        source = summary_source(summary, numbers)
        self.grid.set_source(source, NEWEST_FIRST)
        self._restore_ticks({row.period_start for row in summary.rows})
        self._place_chart()
        rolled = summary.rolled_up_at
        when = "never"
        if rolled is not None:
            rolled = rolled.astimezone(UTC)
            today = rolled.date() == datetime.now(UTC).date()
            when = f"{rolled:%H:%M}" if today else f"{rolled:%Y-%m-%d %H:%M}"
        parts: list[Part] = [
            (summary.currency, 0),
            (f"rolled up {when}", 1),
            ("UTC", 2),
        ]
        if summary.partial_row:
            parts.append(("\u25d4 open (partial)", 3))
        parts.append((f"{len(summary.rows):,} periods", 5))
        self._set_info(parts)
        self._window = None
        self.call_after_refresh(self._follow_scroll)

    def _load_invoices(self) -> None:
        from carriertui.store import invoices

        app = self._app
        self.summary = None
        self.workers.cancel_group(self, "summary-load")
        self._stash_ticks()
        self.grid.set_source(invoices.grid_source(app.db, self.actor, customer_id=self.customer_id))
        self._shown_view = None  # invoice rows: not ticked for invoicing
        self._place_chart()
        parts: list[Part] = [("This customer's invoices", 0)]
        if self.can_edit:
            parts.append(("p marks the one under the cursor paid", 1))
        self._set_info(parts)

    # -- the view switch --------------------------------------------------------------------

    def action_view(self, view: str) -> None:
        if view == self.view:
            return
        self._stash_ticks()
        self.view = view
        self._mark_view()
        self.load()

    @on(Button.Pressed, "#summary-views Button")
    def _view_pressed(self, event: Button.Pressed) -> None:
        assert event.button.id is not None
        self.action_view(event.button.id.removeprefix("view-"))
        self.grid.focus()

    def _view_label(self, key: str) -> str:
        """The active view in brackets: its name says which it is, not only its colour."""
        number = [k for k, _ in VIEWS].index(key) + 1
        label = f"{number} {dict(VIEWS)[key]}"
        return f"[{label}]" if key == self.view else label

    def _mark_view(self) -> None:
        for key, _title in VIEWS:
            button = self.query_one(f"#view-{key}", Button)
            button.set_class(key == self.view, "-active")
            label = self._view_label(key)
            button.label = plain(label)
            # No padding (a Button adds 2 cells): room for the info beside them.
            button.styles.line_pad = 0  # (CSS refuses 0)
            button.styles.width = len(label)

    # -- the chart: minutes and ASR of the rows in view --------------------------------------

    def _follow_scroll(self) -> None:
        summary = self.summary
        view = self.grid.view
        if summary is None or not view.loaded or not self.chart_shown:
            return
        first = int(view.scroll_offset.y)
        height = max(1, view.size.height - view.header_height)
        window = (first, height)
        if window == self._window:
            return
        self._window = window
        rows = [view.row_at(index) for index in range(first, first + height)]
        keys = [row[0] for row in rows if row is not None]
        by_key = {row.period_start: row for row in summary.rows}
        picked = sorted(
            (by_key[key] for key in keys if key in by_key), key=lambda r: r.period_start
        )
        self._set_chart(
            [float(row.duration) / 60 for row in picked],
            [float(row.asr) if row.asr is not None else 0.0 for row in picked],
        )

    def _set_chart(self, minutes: list[float], asr: list[float]) -> None:
        self.query_one("#chart-minutes", Sparkline).data = minutes[-SPARK_POINTS:]
        self.query_one("#chart-asr", Sparkline).data = asr[-SPARK_POINTS:]
        peak = max(minutes, default=0)
        self.query_one("#chart-minutes-label", Label).update(
            plain(f"Minutes (max {peak:,.0f})" if minutes else "")
        )
        self.query_one("#chart-asr-label", Label).update(
            plain(f"ASR % (max {max(asr, default=0):.0f})" if asr else "")
        )

    # -- selection maths --------------------------------------------------------------------

    def _weighted(self, source: RowSource, query: Query, selection: Selection) -> list[str]:
        """Runs in the grid's worker: the true weighted ASR and ACD of the selected rows."""
        from carriertui.store.summary import rows_by_keys, weighted_kpis

        summary = self.summary
        if summary is None:
            return []
        keys = [key for key, _values in source.page(query, selection.top, selection.rows)]
        kpis = weighted_kpis(rows_by_keys(summary, keys))
        asr = f"{kpis.asr:.2f}%" if kpis.asr is not None else "\u2014"
        return [f"weighted ASR {asr} ACD {_duration(kpis.acd)}"]

    # -- invoices ---------------------------------------------------------------------------

    def _ticked_periods(self) -> list[datetime]:
        """The ticked periods of this view, oldest first (never the row under the cursor: an
        invoice is made only for what the operator ticked)."""
        return sorted(self.grid.view.checked)

    def _period_label(self, start: datetime) -> str:
        from carriertui.store.periods import period_label
        from carriertui.store.summary import SummaryView

        return period_label(SummaryView(self.view).period, start)

    def action_generate(self) -> None:
        if self.view in ("24h", "invoices"):
            notify_plain(
                self.app,
                "Invoices are generated from the Daily, Weekly or Monthly view: tick rows "
                "(space) and press i",
                severity="warning",
                timeout=6,
            )
            return
        periods = self._ticked_periods()
        if not periods:
            notify_plain(
                self.app,
                "Nothing is ticked: tick the closed periods to invoice with space, then press i",
                severity="warning",
                timeout=6,
            )
            return
        from carriertui.store import invoices

        labels = ", ".join(self._period_label(start) for start in periods)
        noun = "period" if len(periods) == 1 else "periods"
        notify_plain(
            self.app, f"Generate Invoice for {len(periods)} ticked {noun}: {labels}", timeout=6
        )

        app = self._app
        db, actor, customer_id, kind = app.db, self.actor, self.customer_id, self.view

        def done(created: list[Any]) -> None:
            numbers = ", ".join(record.number for record in created)
            notify_plain(
                self.app, f"Generated {len(created)} invoice(s) for {labels}: {numbers}", timeout=6
            )
            self.grid.view.checked.difference_update(periods)
            self._ticks.get(kind, set()).difference_update(periods)
            self.load()

        save_with_reason(
            self,
            lambda reason: invoices.generate_invoices(
                db, actor, customer_id, kind, periods, comment=reason
            ),
            on_done=done,
            on_error=lambda error: report_error(self.app, error),
            group="summary-invoice",
        )

    def action_auto_generate(self) -> None:
        from carriertui.store import invoices

        app = self._app
        db, actor, customer_id = app.db, self.actor, self.customer_id

        def done(created: list[Any]) -> None:
            message = (
                f"Auto Generate: {len(created)} missing invoice(s) created"
                if created
                else "Auto Generate: no closed period is missing an invoice"
            )
            notify_plain(self.app, message, timeout=6)
            self.load()

        run_service(
            self,
            lambda: invoices.auto_generate(db, actor, customer_id=customer_id),
            on_done=done,
            group="summary-invoice",
            exclusive=True,
        )

    def action_mark_paid(self) -> None:
        if self.view != "invoices":
            return
        view = self.grid.view
        row = view.row_at(view.cursor[0])
        if row is None:
            return
        from carriertui.store import invoices
        from carriertui.store.enums import InvoiceStatus

        app = self._app
        db, actor, invoice_id = app.db, self.actor, int(row[0])

        def paid(record: Any) -> None:
            notify_plain(self.app, f"Invoice {record.number} marked paid", timeout=4)
            self.grid.refresh_data()

        save_with_reason(
            self,
            lambda reason: invoices.set_status(
                db, actor, invoice_id, InvoiceStatus.PAID, comment=reason
            ),
            on_done=paid,
            on_error=lambda error: report_error(self.app, error),
            group="summary-invoice",
        )

    # -- CDR report -------------------------------------------------------------------------

    def action_cdr_report(self) -> None:
        if self.view in ("24h", "invoices"):
            notify_plain(
                self.app,
                "The CDR report is for a Daily, Weekly or Monthly row",
                severity="warning",
                timeout=5,
            )
            return
        view = self.grid.view
        row = view.row_at(view.cursor[0])
        if row is None:
            return
        from carriertui import locations
        from carriertui.store.cdrs import importer as cdrs
        from carriertui.widgets.grid.dialogs import ExportScreen

        app = self._app
        db, actor, customer_id, kind = app.db, self.actor, self.customer_id, self.view
        start: datetime = row[0]
        day = start.astimezone(UTC).date()
        label = view.columns[0].formatter(start) if view.columns[0].formatter else str(day)

        def begin(path: Path, progress: Any, cancel: Any, finished: Any) -> None:
            # What the operator confirmed in the dialog: replacing a file, leaving the folder.
            overwrite, within = dialog.overwrite, dialog.within

            def work() -> Path | None:
                report = cdrs.export_cdr_report(
                    db,
                    actor,
                    customer_id,
                    kind,
                    day,
                    path,
                    on_progress=lambda done: self.app.call_from_thread(progress, done, None),
                    cancelled=cancel.is_set,
                    overwrite=overwrite,
                    within=within,
                )
                return report.path

            run_service(self, work, on_done=finished, on_error=finished, group="cdr-report")

        def closed(path: Path | None) -> None:
            if path is not None:
                notify_plain(self.app, f"CDR report written to {path}", timeout=6)

        dialog = ExportScreen(
            locations.exports_dir(), f"CDRs of {label} (UTC), every column", begin
        )
        self.app.push_screen(dialog, closed)

    # -- refresh ----------------------------------------------------------------------------

    def action_rollup(self) -> None:
        """Roll up the CDRs that arrived since the last run, then re-read the summary."""
        from carriertui.store import rollups

        db = self._app.db

        def rolled_up(report: Any) -> None:
            notify_plain(self.app, str(report), timeout=4)
            self.load()

        run_service(
            self,
            lambda: rollups.rollup_incremental(db),
            on_done=rolled_up,
            group="summary-rollup",
            exclusive=True,
        )
