"""Rate Cards (issue 14): the cards, the selected card's rates in the grid (every version, or
those in force at a moment), what a call to a number costs under the card, and deck imports.

Everyone reads; operators and admins import decks (the import dialog is in
screens/rate_deck_import.py). For a viewer the import key is hidden, the palette does not offer
it, and the line above the rates says read only; the service refuses a viewer in any case.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Static

from carriertui.grid.memory import InMemoryRowSource
from carriertui.grid.model import Column, ColumnType, Query, SortKey
from carriertui.screens.base import BaseScreen, run_service
from carriertui.store.enums import Role
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.grid import Grid, RowActivated
from carriertui.widgets.grid.view import DataGrid
from carriertui.widgets.plain import join, notify_plain, plain

CARD_COLUMNS = (
    Column("name", "Card", width=18),
    Column("kind", "Kind", width=8, grow=False),
    Column("currency", "Cur.", width=4, grow=False),
    Column("rates", "Rates", ColumnType.INTEGER, width=8),
    Column("customers", "Customers", width=22, empty="none"),
)
CARDS_QUERY = Query(sort=(SortKey("name"),))
RATES_QUERY = Query(sort=(SortKey("prefix"),))
AT_HINT = "now, all, a date (2026-03-01) or a date-time, UTC"


def cards_source(cards: list[Any]) -> InMemoryRowSource:
    rows = [
        (
            card.id,
            (
                card.name,
                card.kind.value,
                card.currency,
                card.rates,
                ", ".join(card.customers) or None,
            ),
        )
        for card in cards
    ]
    return InMemoryRowSource(CARD_COLUMNS, rows, name="rate-cards")


def parse_at(text: str, *, allow_all: bool) -> datetime | None:
    """What a time field holds: empty or ``now`` is now, ``all`` (where allowed) None, else an
    ISO date (its midnight) or date-time (no zone: UTC). ValueError otherwise."""
    from carriertui.store.rate_deck import parse_moment

    value = text.strip().lower()
    if value in ("", "now"):
        return datetime.now(UTC)
    if value == "all" and allow_all:
        return None
    return parse_moment(value)


class CardsGrid(Grid):
    """The cards: the cursor chooses the card whose rates are shown; ``r`` reads them again."""

    class Highlighted(Message):
        def __init__(self, card_id: int) -> None:
            super().__init__()
            self.card_id = card_id

    class Reload(Message):
        """``r`` on the cards: read them (and their rate counts) again from the database."""

    _highlighted: int | None = None

    @on(DataGrid.SelectionChanged)
    def _cursor_moved(self) -> None:
        key = self.view.cursor_key
        if key is not None and key != self._highlighted:
            self._highlighted = key
            self.post_message(self.Highlighted(int(key)))

    def action_refresh(self) -> None:
        self.post_message(self.Reload())


class RateCardsScreen(BaseScreen):
    TITLE_TEXT = "Rate Cards"
    HELP = (
        "The rate cards: a customer card prices what a customer pays, a provider card what the "
        "carrier pays for the same call. The cursor on a card shows its rates below (prefix, "
        "destination, rate per minute, connect fee, MCD and pulse, effective from and to, in "
        "UTC); {grid.enter} on a card moves to its rates, {rate_cards.cards} back to the "
        "cards.\n\n"
        "{grid.search} searches the rates by prefix or destination name. {rate_cards.at} goes to "
        "the 'in force at' field: now (empty), all (every version, superseded ones too), or a "
        "date or date-time (UTC), then Enter.\n\n"
        "{rate_cards.rate} goes to 'rate this number': the number, the call's seconds and its "
        "start (empty: now) give the matched prefix and destination, the billed seconds "
        "(MCD/pulse) and the charge, or why no rate applies.\n\n"
        "{rate_cards.import_deck} imports a deck into the selected card or a new one "
        "(operators and admins; viewers read only). {grid.refresh} reads the grid under the "
        "cursor again. {rate_cards.back} leaves a field for the rates, and from a grid goes "
        "back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "import_deck", "Import", id="rate_cards.import_deck"),
        Binding("t", "rate", "Rate a number", id="rate_cards.rate"),
        Binding("d", "at", "In force at", id="rate_cards.at", tooltip="Rates in force at a date"),
        Binding("c", "cards", "Cards", id="rate_cards.cards", show=False),
        Binding("escape", "back", "Back", id="rate_cards.back"),
    ]
    DEFAULT_CSS = """
    RateCardsScreen > #cards-grid { height: 7; }
    RateCardsScreen > #rates-grid { height: 1fr; }
    RateCardsScreen > .rate-line { height: 1; }
    RateCardsScreen .rate-line Input { width: 1fr; }
    RateCardsScreen #rates-at { width: 16; }
    RateCardsScreen #rates-title, RateCardsScreen #rates-at-error { width: auto; }
    RateCardsScreen #rate-seconds { width: 8; }
    RateCardsScreen #rate-at { width: 18; }
    RateCardsScreen #rate-result { height: 2; width: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[Any] | None = None
        self.card: Any = None  # the selected card's record
        # The 'in force at' field as last applied: empty is now (at each re-read), "all" every
        # version; ``at`` is the moment the grid shows (None: every version).
        self.at_text = ""
        self.at: datetime | None = None
        self.rated: Any = None  # the last "rate this number" answer (a RateTest or an error)

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        from carriertui.store.rate_cards import RATE_GRID_COLUMNS

        yield from self.compose_top()
        yield CardsGrid(cards_source([]), query=CARDS_QUERY, enter="activate", id="cards-grid")
        with Horizontal(classes="rate-line", id="rates-title-row"):
            yield Static("Loading…", id="rates-title")
            yield Input(
                placeholder="now",
                id="rates-at",
                compact=True,
                max_length=32,
                classes="line-input",
                tooltip=f"Rates in force at: {AT_HINT}; Enter applies",
            )
            yield Static("", id="rates-at-error")
        yield Grid(
            InMemoryRowSource(RATE_GRID_COLUMNS, [], name="rates"),
            query=RATES_QUERY,
            id="rates-grid",
        )
        with Horizontal(classes="rate-line", id="rate-row"):
            yield Label("Rate ", markup=False)
            yield Input(
                placeholder="number, e.g. +447700900123",
                id="rate-number",
                compact=True,
                max_length=32,
                restrict=r"[0-9+ ]*",
                classes="line-input",
                tooltip="A dialled number: what a call to it costs under the card",
            )
            yield Label(" for ", markup=False)
            yield Input(
                "60",
                id="rate-seconds",
                compact=True,
                max_length=7,
                restrict=r"[0-9]*",
                classes="line-input",
                tooltip="The call's duration in seconds (0: not connected)",
            )
            yield Label(" s at ", markup=False)
            yield Input(
                placeholder="now",
                id="rate-at",
                compact=True,
                max_length=32,
                classes="line-input",
                tooltip="The call's start: now, a date or a date-time (UTC)",
            )
        yield Static("", id="rate-result")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.cards_grid.focus()
        self.load_cards()

    @property
    def cards_grid(self) -> CardsGrid:
        return self.query_one("#cards-grid", CardsGrid)

    @property
    def rates_grid(self) -> Grid:
        return self.query_one("#rates-grid", Grid)

    @property
    def can_import(self) -> bool:
        actor = self.carrier.actor
        return actor is not None and actor.can(Role.OPERATOR)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "import_deck":
            return self.can_import  # hidden for viewers: they read only
        return True

    # -- cards ------------------------------------------------------------------------------

    def load_cards(self, select: str | None = None) -> None:
        """Read the cards; the cursor goes to the card named ``select`` (or stays on the card
        shown, or goes to the first)."""
        from carriertui.store import rate_cards

        app: Any = self.app
        db, actor = app.db, app.actor
        wanted = select if select is not None else (self.card.name if self.card else None)
        run_service(
            self,
            lambda: rate_cards.list_cards(db, actor),
            on_done=lambda cards: self._show_cards(cards, wanted),
            group="rate-cards-load",
            exclusive=True,
        )

    def _show_cards(self, cards: list[Any], wanted: str | None) -> None:
        self.cards = cards
        grid = self.cards_grid
        grid.set_source(cards_source(cards), CARDS_QUERY)
        folded = (wanted or "").casefold()
        chosen = next((card for card in cards if card.name.casefold() == folded), None)
        if chosen is None and cards:
            chosen = min(cards, key=lambda card: card.name.casefold())
        if chosen is not None:
            index = grid.view.source.index_of(CARDS_QUERY, chosen.id)
            grid.view.move_cursor(index or 0)
        grid._highlighted = chosen.id if chosen is not None else None
        self.show_card(chosen)

    @on(CardsGrid.Highlighted)
    def _card_highlighted(self, event: CardsGrid.Highlighted) -> None:
        event.stop()
        card = next((c for c in self.cards or () if c.id == event.card_id), None)
        if card is not None and card is not self.card:
            self.show_card(card)

    @on(CardsGrid.Reload)
    def _reload_cards(self, event: CardsGrid.Reload) -> None:
        event.stop()
        self.load_cards()

    @on(RowActivated, "#cards-grid")
    def _card_opened(self, event: RowActivated) -> None:
        event.stop()
        self.rates_grid.focus()

    def show_card(self, card: Any) -> None:
        """Show ``card``'s rates (under the 'in force at' moment) and rate the number again."""
        self.card = card
        self._show_title()
        if card is None:
            return
        self._show_rates()
        self._rate()

    def _show_title(self) -> None:
        card = self.card
        title = self.query_one("#rates-title", Static)
        if card is None:
            title.update(
                plain(
                    "No rate cards yet"
                    + (
                        ": i imports a deck (a new card name creates the card)"
                        if self.can_import
                        else ""
                    )
                )
            )
            return
        read_only = "" if self.can_import else ", read only"
        title.update(
            join(
                (card.name, "bold"),
                f" ({card.kind.value}, {card.currency}{read_only}) · rates in force at ",
            )
        )

    def _show_rates(self) -> None:
        from carriertui.store import rate_cards

        app: Any = self.app
        grid = self.rates_grid
        query = grid.view.query  # the search and the sort stay from card to card
        self.at = parse_at(self.at_text, allow_all=True)
        source = rate_cards.rates_grid_source(app.db, app.actor, self.card.id, at=self.at)
        grid.set_source(source, query)

    # -- in force at ------------------------------------------------------------------------

    def action_at(self) -> None:
        self.query_one("#rates-at", Input).focus()

    @on(Input.Submitted, "#rates-at")
    def _at_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.query_one("#rates-at-error", Static)
        try:
            parse_at(event.value, allow_all=True)
        except ValueError:
            error.update(plain(" \u26a0 now, all or a date", style="$error"))
            return
        self.at_text = event.value
        every = event.value.strip().lower() == "all"
        error.update(plain(" every version" if every else ""))
        if self.card is not None:
            self._show_rates()
        self.rates_grid.focus()

    # -- rate this number -------------------------------------------------------------------

    def action_rate(self) -> None:
        self.query_one("#rate-number", Input).focus()

    @on(Input.Changed, "#rate-number, #rate-seconds, #rate-at")
    @on(Input.Submitted, "#rate-number, #rate-seconds, #rate-at")
    def _rate_changed(self, event: Input.Changed | Input.Submitted) -> None:
        event.stop()
        self._rate()

    def _rate(self) -> None:
        """Rate a call to the number in the field under the selected card (in a worker)."""
        result = self.query_one("#rate-result", Static)
        number = self.query_one("#rate-number", Input).value.replace(" ", "")
        if not number or self.card is None:
            result.update("")
            self.rated = None
            return
        seconds_text = self.query_one("#rate-seconds", Input).value.strip()
        seconds = int(seconds_text) if seconds_text else 60
        try:
            at = parse_at(self.query_one("#rate-at", Input).value, allow_all=False)
        except ValueError:
            result.update(
                plain("\u26a0 the call's start: now, a date or a date-time (UTC)", style="$error")
            )
            return
        assert at is not None
        from carriertui.store import rates

        app: Any = self.app
        db, actor, card = app.db, app.actor, self.card.name
        run_service(
            self,
            lambda: rates.rate_number(db, actor, card, number, at, seconds),
            on_done=self._rated,
            on_error=self._not_rated,
            group="rate-number",
            exclusive=True,
        )

    def _rated(self, test: Any) -> None:
        self.rated = test
        call, rate = test.call, test.call.rate
        when = f"{test.at:%Y-%m-%d %H:%M}Z"
        if rate is None:
            text = join(
                (call.number, "bold"),
                f": not connected (0 s), costs nothing: 0.0000 {test.currency}\n",
                (f"no rate for it at {when} either", "$text-muted"),
            )
        else:
            text = join(
                "Prefix ",
                (rate.prefix, "bold"),
                " ",
                (rate.destination, "bold"),
                f" · {_price(rate.rate)}/min · connect {_price(rate.connect_fee)} · "
                f"{rate.mcd}/{rate.pulse}\n",
                f"{test.seconds:,} s at {when} billed as ",
                (f"{call.billed_seconds:,} s", "bold"),
                ": ",
                (f"{call.charge} {test.currency}", "bold"),
            )
        self.query_one("#rate-result", Static).update(text)

    def _not_rated(self, error: Exception) -> None:
        from carriertui.rating import RatingError
        from carriertui.store.errors import StoreError

        self.rated = error
        result = self.query_one("#rate-result", Static)
        if isinstance(error, RatingError | StoreError):
            result.update(plain(f"\u26a0 {error}", style="$error"))
            return
        from carriertui.screens.base import report_error

        result.update(
            plain("\u26a0 the number could not be rated (see the message)", style="$error")
        )
        report_error(self.app, error)

    # -- import -----------------------------------------------------------------------------

    def action_import_deck(self) -> None:
        from carriertui.screens.rate_deck_import import ImportDeckScreen

        if not self.can_import:
            notify_plain(
                self.app,
                "Viewers read only: importing a deck needs an operator or an admin",
                severity="warning",
            )
            return

        def imported(report: Any) -> None:
            if report is None:
                return
            notify_plain(self.app, str(report), timeout=8)
            self.load_cards(select=report.card)  # its new count, and a new card, are shown

        self.app.push_screen(ImportDeckScreen(self.card.name if self.card else ""), imported)

    # -- navigation -------------------------------------------------------------------------

    def action_cards(self) -> None:
        self.cards_grid.focus()

    def action_back(self) -> None:
        """Out of a field to the rates first (what was typed stays); from a grid, back."""
        if isinstance(self.app.focused, Input):
            self.rates_grid.focus()
            return
        self.dismiss()

    def palette_commands(self) -> list[tuple[str, Any, str]]:
        commands: list[tuple[str, Any, str]] = [
            ("rates: rate a number", self.action_rate, "The 'rate this number' field (t)"),
            ("rates: in force at", self.action_at, "Show the rates in force at a date (d)"),
            (
                "rates: every version",
                lambda: self._apply_at("all"),
                "Show every version of the rates, superseded ones too",
            ),
            ("rates: in force now", lambda: self._apply_at(""), "Show the rates in force now"),
        ]
        if self.can_import:
            commands.insert(
                0, ("rates: import a deck", self.action_import_deck, "Import a rate deck CSV (i)")
            )
        return commands

    def _apply_at(self, text: str) -> None:
        field = self.query_one("#rates-at", Input)
        field.value = text
        self._at_submitted(Input.Submitted(field, text))


def _price(value: Any) -> str:
    return f"{value.normalize():f}" if value else "0"
