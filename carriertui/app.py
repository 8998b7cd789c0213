"""The Textual app: screens, global bindings, command palette, theme.

Start-up stays fast by loading the store (SQLModel, about 0.6 s to import) in a worker after the
login screen's first frame; by the time the operator has typed a password it is ready.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message

from carriertui import charset
from carriertui.background import BACKGROUND_INTERVAL_S, BackgroundWork  # noqa: F401
from carriertui.commands import CustomerCommands, NavigationCommands, Palette
from carriertui.navigation import Navigation
from carriertui.screens.login import LoginScreen
from carriertui.session_end import SessionEnd
from carriertui.widgets.plain import notify_plain

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.screen import Screen
    from textual.timer import Timer

    from carriertui.screens.alarm_watch import AlarmWatch
    from carriertui.store.contacts.service import PortalIdentity
    from carriertui.store.context import Actor
    from carriertui.store.db.database import Database

log = logging.getLogger("carriertui")

HOLD_KEYS_MAX_S = 5.0  # keys typed ahead wait at most this long for a form to take focus
_FOCUS_MOVES = {"tab": "app.focus_next", "shift+tab": "app.focus_previous"}
THEMES = ("textual-dark", "textual-light", "nord", "gruvbox", "tokyo-night")


class StoreReady(Message):
    """The database is open; ``operator_count`` tells whether a first admin is needed."""

    def __init__(self, operator_count: int) -> None:
        super().__init__()
        self.operator_count = operator_count


class StoreFailed(Message):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error


class CarrierApp(SessionEnd, Navigation, BackgroundWork, App[int]):
    TITLE = "carriertui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {NavigationCommands, CustomerCommands}
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: a dialog (a modal screen) does not pass other keys on to the app, and F1
        # and ctrl+t work everywhere.
        Binding(
            "f1",
            "help",
            "Help",
            id="app.help",
            tooltip="Keys and help for this screen",
            priority=True,
        ),
        Binding(
            "ctrl+t",
            "cycle_theme",
            "Theme",
            id="app.theme",
            show=False,
            tooltip="Switch to the next colour theme",
            priority=True,
        ),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True, tooltip="Leave carriertui"),
    ]

    def __init__(
        self,
        database_url: str,
        *,
        demo: bool = False,
        auto_login: str | None = None,
        portal: bool = False,
        ascii: bool = False,
    ) -> None:
        super().__init__()
        # ASCII only (a terminal whose locale is not UTF-8, or --ascii): carriertui.charset.
        self.ascii = ascii
        charset.use_ascii(ascii)
        self.database_url = database_url
        self.demo = demo
        self.auto_login = auto_login
        # `carriertui portal`: the customer portal only. No operator ever logs in here, so
        # self.actor stays None and no operator screen or palette command is reachable.
        self.portal = portal
        self.db: Database | None = None
        self.actor: Actor | None = None
        self.store_error: Exception | None = None
        self.store_ready = threading.Event()
        self._operator_count: int | None = None
        self._background_timer: Timer | None = None
        # The error each background job last failed with: the operator hears of a failure
        # when it starts (or changes), not every 30 seconds, and hears when the job recovers.
        self._background_failures: dict[str, str] = {}
        # Keys that arrived before a login form had focus, delivered once it has (on_event).
        self._held_keys: list[events.Key] = []
        self._held_since = 0.0
        self.portal_identity = None  # the session's state: session_end.SessionEnd
        self.login_lock = threading.Lock()
        self.idle = None
        self.ending = None
        self._session_ending = False
        # kick_outbox: a send is running / another was asked for meanwhile (UI thread only).
        self._outbox_kick_running = False
        self._outbox_kick_again = False
        self.alarm_watch: AlarmWatch | None = None  # after login: screens/alarm_watch.py

    # -- start-up ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._apply_keymap()
        self._start_idle_watch()
        if self.portal:
            from carriertui.screens.portal_login import PortalLoginScreen

            self.push_screen(PortalLoginScreen())
        else:
            self.push_screen(LoginScreen())
        # After the first frame: load the store off the UI thread.
        self.call_after_refresh(self._start_store)

    def _apply_keymap(self) -> None:
        """Rebind keys from the config file's ``[keymap]`` table: binding id = "keys", e.g.
        ``"customers.new" = "a"`` or ``"customer.save_stay" = "ctrl+s,f2"`` (ids: README)."""
        from carriertui.locations import ConfigError, load_config

        try:
            keymap = load_config().get("keymap", {})
        except ConfigError as error:
            self.notify(str(error), severity="error", markup=False, timeout=10)
            return
        if isinstance(keymap, dict) and keymap:
            self.set_keymap({str(key): str(keys) for key, keys in keymap.items()})

    def _start_store(self) -> None:
        self.run_worker(self._open_store, thread=True, group="store", exit_on_error=False)

    def _open_store(self) -> None:
        try:
            from carriertui.store import operators
            from carriertui.store.db.database import open_database

            database = open_database(self.database_url)
            count = operators.count_operators(database)
        except Exception as error:
            log.exception("cannot open the database %s", _redacted(self.database_url))
            self.store_error = error
            self.store_ready.set()
            self.post_message(StoreFailed(error))
            return
        self.db = database
        self._operator_count = count
        self.store_ready.set()
        self.post_message(StoreReady(count))

    def on_store_ready(self, message: StoreReady) -> None:
        if self.portal:
            return
        if self.auto_login:
            self._auto_login(self.auto_login)
            return
        if message.operator_count == 0:
            from carriertui.screens.login import FirstAdminScreen

            self.switch_screen(FirstAdminScreen())

    def on_store_failed(self, message: StoreFailed) -> None:
        show_store_error = getattr(self.screen, "show_store_error", None)
        if callable(show_store_error):  # the operator or the portal login
            show_store_error(message.error)

    def _auto_login(self, name: str) -> None:
        """The demo: log in as the demo admin without a password (only ever used by `demo`)."""
        from carriertui.store import operators
        from carriertui.store.context import client_ip
        from carriertui.widgets.work import run_service

        db = self.db
        assert db is not None
        run_service(
            self, lambda: operators.demo_login(db, name, client_ip()), on_done=self.logged_in
        )

    # -- session ----------------------------------------------------------------------------

    def logged_in(self, actor: Actor) -> None:
        from carriertui.screens.customers import CustomersScreen

        self.actor = actor
        self.switch_screen(CustomersScreen())
        self._start_background()
        self._start_alarm_watch()

    def action_logout(self) -> None:
        if self.portal:
            self.portal_logout()
            return
        self._audit_logout()
        self.actor = None
        if self.alarm_watch is not None:
            self.alarm_watch.stop()
            self.alarm_watch = None
        if self._background_timer is not None:  # nobody logged in: no scheduled work here
            self._background_timer.stop()
            self._background_timer = None
            self._background_failures = {}
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(LoginScreen())

    # -- the customer portal (`carriertui portal`) ------------------------------------------

    def portal_logged_in(self, identity: PortalIdentity) -> None:
        """A contact logged in: a password that must change comes first, then the portal."""
        from carriertui.screens.portal import PortalScreen
        from carriertui.screens.portal_password import PortalPasswordScreen

        self.portal_identity = identity
        if identity.must_change_password:
            self.switch_screen(PortalPasswordScreen(identity, forced=True))
        else:
            self.switch_screen(PortalScreen(identity))

    def portal_logout(self) -> None:
        from carriertui.screens.portal_login import PortalLoginScreen

        self._audit_logout()
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(PortalLoginScreen())

    def _start_alarm_watch(self) -> None:
        """Toasts and the top bar's count of raised alarms; evaluation too with `[alarms]
        evaluate` on (issue 17)."""
        from carriertui.locations import ConfigError, alarm_settings
        from carriertui.screens.alarm_watch import AlarmWatch

        try:
            evaluate, interval = alarm_settings()
        except ConfigError as error:
            notify_plain(self, str(error), severity="error", timeout=10)
            evaluate, interval = False, 1.0
        if self.alarm_watch is None:
            self.alarm_watch = AlarmWatch(self, interval_s=interval, evaluate=evaluate)

    # -- Textual's built-in palette commands -------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterator[SystemCommand]:
        """Textual's own palette commands (Theme, Quit, Keys, Maximize, Screenshot). The
        portal has none of them: Screenshot would write an SVG on the server and Keys shows
        the app's internal bindings; its palette holds the portal's commands only (theme and
        quit are among them). Operators keep them, Screenshot writing into the export folder."""
        if self.portal:
            return
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":
                yield SystemCommand(
                    "Screenshot",
                    "Save an SVG of the current screen in the export folder",
                    lambda: self.set_timer(0.1, self._screenshot_to_exports),
                )
            else:
                yield command

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        if not self.ascii:
            return super().export_screenshot(title=title, simplify=simplify)
        from carriertui.ascii_screen import export_screenshot

        return export_screenshot(self, title=title, simplify=simplify)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Textual's screenshot action, whatever invokes it: into the export folder for
        operators, nothing in the portal."""
        if not self.portal:
            self._screenshot_to_exports()

    def _screenshot_to_exports(self) -> None:
        from carriertui.screens.screenshot import save_screenshot_to_exports

        save_screenshot_to_exports(self)

    def action_command_palette(self) -> None:
        """ctrl+p: Textual's palette, except that an early Enter waits for the matches."""
        # is_open() is typed for App[object], and App is invariant in its return type.
        if self.use_command_palette and not Palette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(Palette(id="--command-palette"))

    # -- keys typed in a burst ---------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Tab and shift+tab move the focus as soon as the app reads them.

        Textual forwards each key to the widget focused when the app reads it, and Tab's
        focus_next runs only once the key has bubbled back up through the widgets' queues. A
        burst ("email, Tab, password" from a password manager's auto-type, or keys typed while
        a screen gets ready) thus put the password into the email field. Moving the focus
        right away makes every later key of the burst reach the field that then has focus.
        A widget that binds Tab itself keeps it.

        Keys that arrive before a login form has focus (while the app starts, or the screen
        mounts) are held and delivered in order once it has, instead of being lost."""
        if isinstance(event, events.Key) and not event.is_forwarded and self._hold_key(event):
            return
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and event.key in _FOCUS_MOVES
            and self._focus_key_is_plain(event.key)
        ):
            if self.idle is not None:
                self.idle.activity(event)
            event.stop()
            if event.key == "tab":
                self.screen.focus_next()
            else:
                self.screen.focus_previous()
            return
        await super().on_event(event)

    def _hold_key(self, event: events.Key) -> bool:
        """Hold ``event`` while a type-ahead screen (or none yet) has no focus; True if held."""
        import time

        screen = self.screen
        waiting = len(self.screen_stack) <= 1 or (
            getattr(screen, "TYPE_AHEAD", False)
            and (self.focused is None or not getattr(screen, "typing_ready", True))
        )
        if not waiting and not self._held_keys:
            return False
        if not self._held_keys:
            self._held_since = time.monotonic()
            self.set_timer(0.05, self._deliver_held_keys)
        self._held_keys.append(event)
        return True

    def _deliver_held_keys(self) -> None:
        import time

        ready = self.focused is not None and getattr(self.screen, "typing_ready", True)
        if not ready and time.monotonic() - self._held_since < HOLD_KEYS_MAX_S:
            self.set_timer(0.05, self._deliver_held_keys)
            return
        held, self._held_keys = self._held_keys, []
        for key in held:  # back into the app's queue, in order, ahead of nothing held later
            self.post_message(key)

    def _focus_key_is_plain(self, key: str) -> bool:
        """No widget from the focused one up to the screen binds ``key`` to anything but the
        screen's own focus move."""
        focused = self.focused
        if focused is None:
            return False
        screen = self.screen
        node: object = focused
        while node is not None:
            for binding in node._bindings.key_to_bindings.get(key, ()):  # type: ignore[attr-defined]
                if node is not screen or binding.action != _FOCUS_MOVES[key]:
                    return False
            if node is screen:
                return True
            node = getattr(node, "_parent", None)
        return False

    def action_help(self) -> None:
        from carriertui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        self.push_screen(HelpScreen(self.screen))

    def action_cycle_theme(self) -> None:
        current = self.theme
        names = [name for name in THEMES if name in self.available_themes]
        following = names[(names.index(current) + 1) % len(names)] if current in names else names[0]
        self.theme = following
        self.notify(f"Theme: {following}", timeout=2)

    def update_styles(self, node: DOMNode, animate: bool = True) -> None:
        # A widget not in the DOM yet (a form's fields while they are built) is styled when it
        # is mounted: restyling it for each class its constructor sets is wasted work (about a
        # tenth of opening a customer).
        if node is not self and not node.is_attached:
            return
        super().update_styles(node, animate=animate)


def _redacted(url: str) -> str:
    """``url`` without its password, for the log (the URL is not a secret; the password is)."""
    try:
        from carriertui.store.db.engine import redacted_url
    except Exception:  # the store itself cannot load: say nothing of the URL's credentials
        return url.split("@")[-1]
    return redacted_url(url)


def run(
    database_url: str,
    *,
    demo: bool = False,
    auto_login: str | None = None,
    portal: bool = False,
    driver: type | None = None,
    ascii: bool | None = None,
) -> int:
    """Run the TUI until the operator (or, with ``portal``, the contact) quits, the session
    times out, or the terminal goes away. Returns the exit code; no child process outlives it.
    ``driver``: the Textual driver (a terminal's by default; `carriertui serve` gives its own)."""
    import sys

    from carriertui import logfile
    from carriertui.hangup import TerminalDriver
    from carriertui.terminal import end_children, leave_now

    logfile.configure()  # warnings reach the log file, never the screen
    if ascii is None:  # the CLI has set the process's mode from --ascii, the config, the locale
        # A browser (`carriertui serve`, its own driver) always shows UTF-8.
        ascii = charset.ascii_mode() if driver is None else False
    app = CarrierApp(database_url, demo=demo, auto_login=auto_login, portal=portal, ascii=ascii)
    app.driver_class = TerminalDriver if driver is None else driver
    try:
        result = app.run()
    except OSError:  # the goodbye written into a terminal that is gone
        if app.ending is None:
            raise
        result = app.ending
    end_children()
    if app.ending is not None:
        # Ended on its own (idle, hangup, SIGTERM): a worker still waiting on the database or
        # an import must not keep the process (and the SSH session) alive.
        leave_now(app.ending)
    if app.store_error is not None and app.actor is None:
        from carriertui.text import sanitize

        if portal:  # a customer's terminal: no path, address or driver message (in the log)
            print("error: the portal is not available right now", file=sys.stderr)
        else:
            print(f"error: {sanitize(app.store_error)}", file=sys.stderr)
        return 1
    return result or 0
