"""Command palette providers, labelled ``"namespace: verb"`` (Posting's convention).

Customer names are data: hits are built as Content with our own match highlighting, because the
palette parses plain strings (prompt and help) as markup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual import on
from textual.command import (
    Command,
    CommandList,
    CommandPalette,
    DiscoveryHit,
    Hit,
    Hits,
    Provider,
)
from textual.content import Content
from textual.widgets import Input

from carriertui.text import sanitize

if TYPE_CHECKING:
    from carriertui.app import CarrierApp


def highlighted(provider: Provider, query: str, label: str) -> tuple[float, Content]:
    """Score ``label`` against ``query`` and highlight the matched characters, treating the
    label as plain text (``Matcher.highlight`` would parse it as markup)."""
    matcher = provider.matcher(query)
    score, offsets = matcher.fuzzy_search.match(query, label)
    content = Content(label)
    for offset in offsets:
        content = content.stylize(matcher.match_style, offset, offset + 1)
    return score, content


class NavigationCommands(Provider):
    """go:, customer: new, session:, theme: — what the operator can do from anywhere."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app: CarrierApp = self.app  # type: ignore[assignment]
        if app.portal:
            return self._portal_commands(app)
        if app.actor is None:
            return [("app: quit", app.exit, "Leave carriertui")]
        from carriertui.store.enums import Role

        commands: list[tuple[str, Callable[[], object], str]] = [
            ("go: customers", app.go_customers, "The list of every customer"),
            ("go: audit log", app.go_audit_log, "Every change of the account, newest first"),
            ("go: contacts", app.go_contacts, "Global Contacts: every customer's contacts"),
            ("go: delay log", app.go_delay_log, "Delayed changes (Delay and Save) and their times"),
            ("go: outbox", app.go_outbox, "Outgoing mail: status, attempts, last error"),
            ("go: alarms", app.go_alarms, "NOC alarms: raised, acknowledged; acknowledge"),
            ("go: alarm rules", app.go_alarm_rules, "The rules alarms are raised by"),
            ("go: feeds", app.go_feeds, "CDR spools: files, rows, rejects, last error"),
            (
                "go: rate cards",
                app.go_rate_cards,
                "Rate cards and their rates; rate a number; import decks",
            ),
            ("help: keys for this screen", app.action_help, "Keys and help (F1)"),
            ("theme: next theme", app.action_cycle_theme, "Cycle the colour theme (ctrl+t)"),
            ("theme: choose theme", app.action_change_theme, "Pick a colour theme from a list"),
            ("session: log out", app.action_logout, "Back to the login screen"),
            ("app: quit", app.exit, "Leave carriertui (ctrl+q)"),
        ]
        if app.actor.can(Role.OPERATOR):
            commands.insert(1, ("customer: new", app.new_customer, "Create a customer (n)"))
        if app.actor.can(Role.ADMIN):
            commands.insert(1, ("go: options", app.go_options, "Settings > Options (admins)"))
            commands.insert(
                2,
                ("go: operators", app.go_operators, "Operator accounts: roles, disable (admins)"),
            )
        screen_commands = getattr(self.screen, "palette_commands", None)
        if callable(screen_commands):
            commands = list(screen_commands()) + commands
        return commands

    def _portal_commands(self, app: CarrierApp) -> list[tuple[str, Callable[[], object], str]]:
        """`carriertui portal` is a separate, restricted UI: no operator navigation (go:,
        customer:), only the portal screen's own commands and the harmless app ones."""
        commands: list[tuple[str, Callable[[], object], str]] = [
            ("help: keys for this screen", app.action_help, "Keys and help (F1)"),
            ("theme: next theme", app.action_cycle_theme, "Cycle the colour theme (ctrl+t)"),
            ("app: quit", app.exit, "Leave the portal (ctrl+q)"),
        ]
        screen_commands = getattr(self.screen, "palette_commands", None)
        if callable(screen_commands):
            commands = list(screen_commands()) + commands
        return commands

    async def discover(self) -> Hits:
        for label, callback, help_text in self._commands():
            yield DiscoveryHit(Content(label), callback, text=label, help=help_text)

    async def search(self, query: str) -> Hits:
        for label, callback, help_text in self._commands():
            score, display = highlighted(self, query, label)
            if score > 0:
                yield Hit(score, display, callback, text=label, help=help_text)


class CustomerCommands(Provider):
    """``customer: <name>``: jump to any customer by name or account code."""

    async def _customers(self) -> list[tuple[str, int]]:
        app: CarrierApp = self.app  # type: ignore[assignment]
        # Only for an operator: never in the portal, which must not list other customers.
        if app.portal or app.actor is None or app.db is None:
            return []
        from carriertui.store import customers

        records = await asyncio.to_thread(customers.list_customers, app.db, app.actor)
        labels = []
        for record in records:
            code = f" ({record.account_code})" if record.account_code else ""
            labels.append((sanitize(f"customer: {record.name}{code}"), record.id))
        return labels

    async def search(self, query: str) -> Hits:
        app: CarrierApp = self.app  # type: ignore[assignment]
        for label, customer_id in await self._customers():
            score, display = highlighted(self, query, label)
            if score > 0:
                yield Hit(
                    score,
                    display,
                    partial(app.open_customer, customer_id),
                    text=label,
                    help="Open this customer",
                )


class CustomerSwitcherCommands(CustomerCommands):
    """The customer switcher (ctrl+o on a customer): lists every customer before any typing."""

    async def discover(self) -> Hits:
        app: CarrierApp = self.app  # type: ignore[assignment]
        for label, customer_id in await self._customers():
            name = label.removeprefix("customer: ")
            yield DiscoveryHit(Content(name), partial(app.open_customer, customer_id), text=name)

    async def search(self, query: str) -> Hits:
        app: CarrierApp = self.app  # type: ignore[assignment]
        for label, customer_id in await self._customers():
            name = label.removeprefix("customer: ")
            score, display = highlighted(self, query, name)
            if score > 0:
                yield Hit(score, display, partial(app.open_customer, customer_id), text=name)


class Palette(CommandPalette):
    """The command palette, where Enter typed before the matches of what was typed arrive (a
    slow customer search, a busy machine) takes the first of them once the search is done.
    Textual's palette would do nothing, or run a stale hit of an earlier, shorter query."""

    _enter_waiting = False
    _list_current = True  # the list holds hits of the text as typed now

    @on(Input.Changed)
    def _typed(self) -> None:
        self._enter_waiting = False  # the query changed after Enter: wait for a new Enter
        self._list_current = False

    def _refresh_command_list(
        self, command_list: CommandList, commands: list[Command], clear_current: bool
    ) -> None:
        super()._refresh_command_list(command_list, commands, clear_current)
        self._list_current = True

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        # Runs before CommandPalette's own handler, which it replaces only while the list does
        # not show this query's hits yet.
        if self._selected_command is not None or (self._list_current and self._list_visible):
            return
        if not event.value.strip():
            return
        event.prevent_default()
        event.stop()
        self._enter_waiting = True
        self.run_worker(self._take_first_match(), group="palette-enter", exclusive=True)

    async def _take_first_match(self) -> None:
        while any(
            worker.group == self._GATHER_COMMANDS_GROUP and worker.is_running
            for worker in self.workers
        ):
            await asyncio.sleep(0.02)
        commands = self.query_one(CommandList)
        if not (self._enter_waiting and self._list_current and commands.option_count):
            return
        if commands.get_option_at_index(0).disabled:  # "No matches found"
            return
        self._enter_waiting = False
        commands.highlighted = 0
        commands.action_select()
