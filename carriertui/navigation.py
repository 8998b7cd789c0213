"""Where the operator can go: the screens reached from the palette and from other screens. A
mixin of CarrierApp, kept apart so that app.py stays about start-up, login and keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from carriertui.store.context import Actor

    _AppBase = App[int]  # for the checker the mixin is the App it is mixed into
else:
    _AppBase = object


class Navigation(_AppBase):
    """Needs from the app: ``actor`` (None before the login: nothing is reachable then)."""

    if TYPE_CHECKING:
        actor: Actor | None

    def open_customer(self, customer_id: int) -> None:
        from carriertui.screens.customer.screen import CustomerScreen

        if self.actor is None:
            return
        current = self.screen
        if isinstance(current, CustomerScreen):
            self.switch_screen(CustomerScreen(customer_id))
        else:
            self.push_screen(CustomerScreen(customer_id))

    def go_customers(self) -> None:
        from carriertui.screens.customers import CustomersScreen

        if self.actor is None:
            return
        while len(self.screen_stack) > 2 and not isinstance(self.screen, CustomersScreen):
            self.pop_screen()

    def new_customer(self) -> None:
        from carriertui.screens.customers import CustomersScreen

        self.go_customers()
        screen = self.screen
        if isinstance(screen, CustomersScreen):
            screen.action_new_customer()

    def go_options(self) -> None:
        from carriertui.screens.options import OptionsScreen

        if self.actor is None:
            return
        if not isinstance(self.screen, OptionsScreen):
            self.push_screen(OptionsScreen())

    def go_operators(self) -> None:
        from carriertui.screens.operators import OperatorsScreen
        from carriertui.store.enums import Role

        if self.actor is None or not self.actor.can(Role.ADMIN):
            return
        self._push_once(OperatorsScreen, OperatorsScreen)

    def go_audit_log(self) -> None:
        from carriertui.screens.audit import AuditLogScreen

        if self.actor is None:
            return
        if not isinstance(self.screen, AuditLogScreen):
            self.push_screen(AuditLogScreen())

    def _push_once(self, screen_type: type, factory: Callable[[], Screen[Any]]) -> None:
        if self.actor is None:
            return
        if not isinstance(self.screen, screen_type):
            self.push_screen(factory())

    def go_contacts(self) -> None:
        from carriertui.screens.global_contacts import GlobalContactsScreen

        self._push_once(GlobalContactsScreen, GlobalContactsScreen)

    def go_delay_log(self) -> None:
        from carriertui.screens.delay import DelayLogScreen

        self._push_once(DelayLogScreen, DelayLogScreen)

    def go_outbox(self) -> None:
        from carriertui.screens.outbox import OutboxScreen

        self._push_once(OutboxScreen, OutboxScreen)

    def go_alarms(self) -> None:
        from carriertui.screens.alarms import AlarmsScreen

        self._push_once(AlarmsScreen, AlarmsScreen)

    def go_alarm_rules(self) -> None:
        from carriertui.screens.alarm_rules import AlarmRulesScreen

        self._push_once(AlarmRulesScreen, AlarmRulesScreen)

    def go_feeds(self) -> None:
        from carriertui.screens.feeds import FeedsScreen

        self._push_once(FeedsScreen, FeedsScreen)

    def go_rate_cards(self) -> None:
        from carriertui.screens.rate_cards import RateCardsScreen

        self._push_once(RateCardsScreen, RateCardsScreen)
