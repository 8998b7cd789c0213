"""What every screen shares: the top bar, F1 help text, and running services off the UI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static

from carriertui.widgets.plain import join
from carriertui.widgets.work import (  # noqa: F401 (the screens' helpers, as base.X too)
    focus_when_ready,
    report_error,
    run_service,
)

if TYPE_CHECKING:
    from carriertui.app import CarrierApp

log = logging.getLogger("carriertui")


def save_with_reason(
    node: DOMNode,
    call: Callable[[str | None], Any],
    *,
    on_done: Callable[[Any], object],
    on_error: Callable[[Exception], object],
    group: str,
) -> None:
    """Run a saving service call ``call(reason)`` in a worker, asking first for the reason when
    Audit Comment is on (Settings > Options). An empty reason or Esc cancels the save: nothing is
    written."""
    from carriertui.store import options  # loaded: a save only happens after login

    app: Any = node.app
    db, actor = app.db, app.actor

    def save(reason: str | None) -> None:
        run_service(
            node,
            lambda: call(reason),
            on_done=on_done,
            on_error=on_error,
            group=group,
            exclusive=True,
        )

    def decided(audit_comment: bool) -> None:
        if not audit_comment:
            save(None)
            return
        from carriertui.screens.dialogs import ReasonScreen

        def given(reason: str | None) -> None:
            if reason:
                save(reason)
            else:
                app.notify("Save cancelled: no reason given", severity="warning", timeout=4)

        app.push_screen(ReasonScreen(), given)

    run_service(node, lambda: options.get_options(db, actor).audit_comment, on_done=decided)


def discard_or_ask(
    node: DOMNode,
    dirty: bool,
    discard: Callable[[], object],
    question: str = "Discard your unsaved changes?",
) -> None:
    """Close a form: at once when nothing was changed, else only after the operator agrees
    (No keeps the form open with the edit). Every form's Esc, Close and Back go through
    here."""
    if not dirty:
        discard()
        return
    from carriertui.widgets.confirm import ConfirmScreen

    def answered(yes: bool | None) -> None:
        if yes:
            discard()

    node.app.push_screen(ConfirmScreen(question, "Discard", "Keep editing"), answered)


DEMO_BADGES = ("  DEMO DATABASE: changes touch only the demo ", "  DEMO DATABASE ", "  DEMO ")


class TopBar(Static):
    """Product, where you are, who you are, and a DEMO badge on the demo database: one line,
    the badge shortened to fit; a title too long even so wraps instead of being cut."""

    DEFAULT_CSS = """
    TopBar { height: auto; width: 1fr; }
    """

    def __init__(self, title: str) -> None:
        super().__init__(id="top-bar")
        self._title = title

    def on_mount(self) -> None:
        self.refresh_bar()

    def on_resize(self) -> None:
        self.refresh_bar()

    def refresh_bar(self) -> None:
        app: CarrierApp = self.app  # type: ignore[assignment]
        parts: list[Any] = [(" carriertui ", "bold reverse"), (f" {self._title}", "bold")]
        if app.actor is not None:
            parts.append((f"  {app.actor.name} ({app.actor.role.value})", "dim"))
        watch = getattr(app, "alarm_watch", None)
        if watch is not None and watch.raised:  # text, not only colour: "! 2 ALARMS"
            parts.append(
                (f"  ! {watch.raised} ALARM{'S' if watch.raised > 1 else ''} ", "bold $error")
            )
        if app.demo:
            width = self.size.width or app.size.width
            used = sum(len(text) for text, _style in parts)
            badge = next(
                (text for text in DEMO_BADGES if used + len(text) <= width), DEMO_BADGES[-1]
            )
            parts.append((badge, "bold $warning"))
        self.update(join(*parts))


class BaseScreen(Screen[Any]):
    """A full screen with a top bar; ``HELP`` is shown by F1."""

    HELP: ClassVar[str] = ""
    TITLE_TEXT: ClassVar[str] = ""

    def compose_top(self) -> ComposeResult:
        yield TopBar(self.TITLE_TEXT)

    @property
    def carrier(self) -> CarrierApp:
        return self.app  # type: ignore[return-value]
