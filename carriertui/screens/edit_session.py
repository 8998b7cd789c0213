"""One edit flow for every form that edits a versioned record (customer Main, the contact form,
the portal's My Profile).

The steps, in one order everywhere:

1. Save: the service call runs in a worker, after the audit reason when Settings > Options ask
   for one (``save_with_reason``).
2. The service refused it:
   - someone saved the record after the form was opened (a stale edit): both versions side by
     side, and the operator chooses to load theirs or keep editing (nothing is overwritten
     silently); a form without the dialog (the portal) says so next to the Save button;
   - a field is bad: its message under the field;
   - anything else: reported as every error is (``report_error``).
3. Delay and Save: the time is asked, then the same changes are scheduled in the Delay Log
   against the version opened; its refusals go through step 2.
4. Close with unsaved changes asks first (``discard_or_ask``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from textual.screen import Screen

from carriertui.screens.base import discard_or_ask, report_error, run_service, save_with_reason
from carriertui.widgets.form import Form
from carriertui.widgets.work import session_of

R = TypeVar("R")

NOT_CHANGED_BY_YOU = "(not changed by you)"


class EditSession(Generic[R]):
    """The edit of one record on ``screen``.

    ``form`` finds the form; ``opened`` is the record as the form was opened (None for a new
    one); ``texts`` gives a record's fields as the form shows them, ``labels`` their names in
    the conflict dialog (the field key when absent), ``shown`` how a value reads there.
    ``reload`` shows another operator's version in the form; ``keep`` keeps the typed text
    against it: the fields the operator changed stay as typed, the ones only the other operator
    changed show their value (saving again does not undo them). ``stale`` is the error class of a
    stale edit; ``stale_message`` replaces the dialog with a line (the portal's way).
    ``ask_reason`` False: never ask for an audit reason (a contact in the portal is no
    operator; the reason is an operator's Options setting).
    """

    def __init__(
        self,
        screen: Screen[Any],
        *,
        what: str,
        form: Callable[[], Form],
        opened: Callable[[], R | None],
        texts: Callable[[R], Mapping[str, Any]],
        reload: Callable[[R], object],
        keep: Callable[[R], object],
        labels: Mapping[str, str] | None = None,
        shown: Callable[[Any], str] = str,
        stale: type[Exception] | None = None,
        stale_message: Callable[[R], object] | None = None,
        ask_reason: bool = True,
    ) -> None:
        self.screen = screen
        self.what = what
        self.form = form
        self.opened = opened
        self.texts = texts
        self.reload = reload
        self.keep = keep
        self.labels = labels or {}
        self.shown = shown
        self.stale = stale
        self.stale_message = stale_message
        self.ask_reason = ask_reason

    # -- saving -----------------------------------------------------------------------------

    def save(
        self,
        call: Callable[[str | None], Any],
        changes: Mapping[str, Any],
        *,
        on_done: Callable[[Any], object],
        group: str,
    ) -> None:
        """Run the saving ``call(reason)``; its refusal goes through :meth:`failed`."""
        if not self.ask_reason:
            run_service(
                self.screen,
                lambda: call(None),
                on_done=on_done,
                on_error=lambda error: self.failed(error, changes),
                group=group,
                exclusive=True,
            )
            return
        save_with_reason(
            self.screen,
            call,
            on_done=on_done,
            on_error=lambda error: self.failed(error, changes),
            group=group,
        )

    def failed(self, error: Exception, changes: Mapping[str, Any]) -> None:
        """A refused save: a stale edit, then field errors, then anything else."""
        current = self._stale_current(error)
        if current is not None:
            if self.stale_message is not None:
                self.stale_message(current)
            else:
                self.conflict(current, changes)
            return
        if self.form().show_validation_error(error):
            return
        report_error(self.screen.app, error)

    def _stale_current(self, error: Exception) -> R | None:
        from carriertui.store.errors import StaleEditError

        kinds: tuple[type[Exception], ...] = (StaleEditError,)
        if self.stale is not None:
            kinds = (*kinds, self.stale)
        if isinstance(error, kinds):
            return getattr(error, "current", None)
        return None

    def theirs_only(self, current: R, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The fields only the other operator changed since the form opened, as shown."""
        opened = self.opened()
        theirs = self.texts(current)
        before = self.texts(opened) if opened is not None else theirs
        return {
            field: text
            for field, text in theirs.items()
            if field not in changes and text != before.get(field)
        }

    def conflict_rows(self, current: R, changes: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        """(field, yours, theirs) for each field typed, then the fields only they changed."""
        theirs = self.texts(current)
        rows = [
            (self.labels.get(field, field), self.shown(mine), self.shown(theirs[field]))
            for field, mine in changes.items()
        ]
        rows += [
            (self.labels.get(field, field), NOT_CHANGED_BY_YOU, self.shown(text))
            for field, text in self.theirs_only(current, changes).items()
        ]
        return rows

    def keep_mine(self, current: R, changes: Mapping[str, Any]) -> None:
        """Keep editing against ``current``: what the operator typed stays; a field only the
        other operator changed takes their value, so saving again keeps their change."""
        form = self.form()
        for field, text in self.theirs_only(current, changes).items():
            row = form.row(field)
            if row is not None:
                row.show(text)
        self.keep(current)

    def conflict(self, current: R, changes: Mapping[str, Any]) -> None:
        """Someone saved first: both versions, and the operator chooses."""
        from carriertui.screens.dialogs import ConflictScreen

        def chosen(choice: str | None) -> None:
            if choice == "reload":
                self.reload(current)
            else:
                self.keep_mine(current, changes)

        rows = self.conflict_rows(current, changes)
        self.screen.app.push_screen(ConflictScreen(rows, "Someone", self.what), chosen)

    # -- Delay and Save ---------------------------------------------------------------------

    def delay(
        self,
        table: str,
        record_id: int,
        version: int,
        changes: Mapping[str, Any],
        *,
        on_done: Callable[[Any], object],
        group: str,
    ) -> None:
        """Ask when, then schedule ``changes`` of the record in the Delay Log (audited, against
        the version opened: a record changed meanwhile is a stale edit)."""
        from carriertui.screens.delay import DelayScreen
        from carriertui.store import pending

        db, actor = session_of(self.screen)
        wanted = dict(changes)

        def chosen(due: Any) -> None:
            if due is None:
                return
            self.save(
                lambda reason: pending.schedule_change(
                    db,
                    actor,
                    table,
                    record_id,
                    wanted,
                    due_at=due,
                    expected_version=version,
                    comment=reason,
                ),
                wanted,
                on_done=on_done,
                group=group,
            )

        self.screen.app.push_screen(DelayScreen(), chosen)

    # -- closing ----------------------------------------------------------------------------

    def close(self, dirty: bool, discard: Callable[[], object]) -> None:
        """Leave the form: at once when nothing was typed, else after the operator agrees."""
        discard_or_ask(self.screen, dirty, discard)
