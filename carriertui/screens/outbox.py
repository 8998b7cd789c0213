"""The Outbox: outgoing mail with its status, attempts and last error (never a secret)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Label

from carriertui.grid.model import Query, SortKey
from carriertui.screens.base import BaseScreen
from carriertui.widgets.footer import KeyFooter
from carriertui.widgets.grid import Grid
from carriertui.widgets.plain import plain

OUTBOX_QUERY = Query(sort=(SortKey("created_at", descending=True),))


class OutboxScreen(BaseScreen):
    TITLE_TEXT = "Outbox"
    HELP = (
        "Outgoing mail, newest first. Messages wait as pending until sent; a failed delivery is "
        "retried with a growing delay (30 s, 1 min, 2 min, ... up to an hour) and marked failed "
        "after 8 attempts. Password emails carry no password while they wait: it is generated "
        "when the message is sent.\n\n"
        "{outbox.send} sends due messages now; {grid.refresh} refreshes. The running app sends "
        "every 30 seconds; `carriertui mail send` does it from cron. {outbox.back} goes back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "send_now", "Send now", id="outbox.send"),
        Binding("escape", "back", "Back", id="outbox.back"),
    ]

    def compose(self) -> ComposeResult:
        from carriertui.store import mail

        app: Any = self.app
        yield from self.compose_top()
        yield Label(plain(self._transport_line()), classes="tab-hint", markup=False)
        yield Grid(
            mail.grid_source(app.db, app.actor),
            query=OUTBOX_QUERY,
            watch_new=10.0,
            id="outbox-grid",
        )
        yield KeyFooter()

    def _transport_line(self) -> str:
        """Where mail goes, so a wrong [mail] setting is seen here, not guessed from retries."""
        from carriertui.locations import ConfigError, mail_config
        from carriertui.store.mail import MailConfigError, MailSettings

        try:
            settings = MailSettings.from_config(mail_config(self.carrier.database_url))
        except (ConfigError, MailConfigError) as error:
            return f"Mail is not configured correctly: {error}. n sends what is due now."
        return f"Mail goes via {settings.describe()}. n sends what is due now."

    def on_mount(self) -> None:
        self.query_one(Grid).focus()

    def action_send_now(self) -> None:
        self.carrier.run_background(
            on_done=lambda: self.query_one(Grid).refresh_data(), announce=True
        )

    def action_back(self) -> None:
        self.dismiss()
