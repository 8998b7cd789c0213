"""The contact form: add or edit a contact (a login of its own: email and password), with
public and private notes, verification flags and the IP whitelist; Save, Save and stay, Delay
and Save, and the discard prompt."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, Switch
from textual.widgets import TextArea as _TextArea

from carriertui.screens.base import (
    focus_when_ready,
    report_error,
    run_service,
)
from carriertui.screens.edit_session import EditSession
from carriertui.store.contacts.service import (
    EDITABLE_FIELDS,
    ContactRecord,
    NotesLookLikePasswordError,
    notes_password_warning,
)
from carriertui.store.enums import ContactType, Role
from carriertui.text import sanitize
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.format import utc
from carriertui.widgets.plain import join, notify_plain, plain
from carriertui.widgets.work import session_of

__all__ = ["BLANK_TEXTS", "ContactFormScreen", "TextArea", "contact_rows", "contact_texts"]


TYPE_OPTIONS = [(kind.value, kind.value) for kind in ContactType]
LABELS = {
    "name": "Name",
    "email": "Email",
    "phone": "Phone",
    "mobile": "Mobile",
    "contact_type": "Contact Type",
    "public_notes": "Public Notes",
    "private_notes": "Private Notes",
    "email_verified": "Email Verified",
    "mobile_verified": "Mobile Verified",
    "ip_whitelist": "IP Whitelist",
}
BLANK_TEXTS: dict[str, Any] = {
    "name": "",
    "email": "",
    "phone": "",
    "mobile": "",
    "contact_type": ContactType.OTHER.value,
    "public_notes": "",
    "private_notes": "",
    "email_verified": False,
    "mobile_verified": False,
    "ip_whitelist": "",
}


class TextArea(_TextArea):
    """Notes: Tab moves to the next field (every field reachable with Tab at 80x24)."""

    DEFAULT_CSS = """
    TextArea { height: 4; }
    """

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__(text, tab_behavior="focus", soft_wrap=True, compact=True, **kwargs)


def contact_texts(record: ContactRecord) -> dict[str, Any]:
    """The record as the form shows it (sanitised: the text is put back into inputs)."""
    return {
        "name": sanitize(record.name),
        "email": sanitize(record.email),
        "phone": record.phone or "",
        "mobile": record.mobile or "",
        "contact_type": record.contact_type.value,
        "public_notes": sanitize(record.public_notes or "", multiline=True),
        "private_notes": sanitize(record.private_notes or "", multiline=True),
        "email_verified": record.email_verified,
        "mobile_verified": record.mobile_verified,
        "ip_whitelist": ", ".join(record.ip_whitelist),
    }


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value) if value not in (None, "") else "(empty)"


def contact_rows(texts: dict[str, Any], *, new: bool, editable: bool) -> list[FieldRow]:
    def text(field: str, placeholder: str = "", **kwargs: Any) -> Input:
        return Input(
            texts[field],
            placeholder=placeholder,
            id=f"field-{field}",
            compact=True,
            disabled=not editable,
            **kwargs,
        )

    def switch(field: str) -> Switch:
        return Switch(texts[field], id=f"field-{field}", disabled=not editable)

    rows = [
        FieldRow("Name", text("name", "Real name", max_length=100), field="name"),
        FieldRow(
            "Email",
            text("email", "name@example.com", max_length=254),
            field="email",
            hint="The contact's portal login: unique across all customers",
        ),
        FieldRow("Phone", text("phone", "+44 20 7946 0958"), field="phone", hint="With +country"),
        FieldRow("Mobile", text("mobile", "+1 415 555 2671"), field="mobile"),
        FieldRow(
            "Contact Type",
            Select(
                TYPE_OPTIONS,
                value=texts["contact_type"],
                allow_blank=False,
                id="field-contact_type",
                compact=True,
                disabled=not editable,
            ),
            field="contact_type",
            hint="Informational only",
        ),
    ]
    if new:
        rows += [
            FieldRow(
                "Auto Password",
                Switch(True, id="field-auto_password", disabled=not editable),
                field="auto_password",
                hint="On: a password is generated and emailed. Off: type one below.",
            ),
            FieldRow(
                "Password",
                Input(password=True, id="field-password", compact=True, max_length=128),
                field="password",
            ),
            FieldRow(
                "Confirm",
                Input(password=True, id="field-password_confirm", compact=True, max_length=128),
                field="password_confirm",
            ),
        ]
    rows += [
        FieldRow(
            "Public Notes",
            TextArea(texts["public_notes"], id="field-public_notes", disabled=not editable),
            field="public_notes",
            hint="Shown in the customer portal. Never put passwords in notes.",
        ),
        FieldRow(
            "Private Notes",
            TextArea(texts["private_notes"], id="field-private_notes", disabled=not editable),
            field="private_notes",
            hint="Operators only; never shown in the portal. Never put passwords in notes.",
        ),
        FieldRow("Email Verified", switch("email_verified"), field="email_verified"),
        FieldRow("Mobile Verified", switch("mobile_verified"), field="mobile_verified"),
        FieldRow(
            "IP Whitelist",
            text("ip_whitelist", "10.1.2, 192.0.2.10, 2001:db8::/32 (empty: any)"),
            field="ip_whitelist",
            hint="Addresses, prefixes (10.1.2) and CIDRs, v4 and v6, separated by commas. "
            "A wrong entry locks the contact out of the portal.",
        ),
    ]
    return rows


class ContactFormScreen(ModalScreen[bool]):
    """Add or edit a contact. Dismisses with True when anything was saved.

    With ``contact_id`` the dialog opens at once and reads the contact in a worker; until it is
    in, nothing has focus, so keys typed meanwhile edit nothing."""

    AUTO_FOCUS = None

    HELP = (
        "{contact_form.save_continue} Save and Continue (save and close) · "
        "{contact_form.save_stay} Save and Stay (save, then a blank form for the next contact) · "
        "{contact_form.delay} Delay and Save (the change waits in the Delay Log until its time) · "
        "{contact_form.close} closes without saving. Tab moves between fields."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+g",
            "save('continue')",
            "Save & continue",
            id="contact_form.save_continue",
            priority=True,
        ),
        Binding(
            "ctrl+s", "save('stay')", "Save & stay", id="contact_form.save_stay", priority=True
        ),
        Binding("ctrl+d", "delay", "Delay & save", id="contact_form.delay", priority=True),
        Binding("escape", "close", "Close", id="contact_form.close"),
    ]

    def __init__(
        self,
        customer_id: int,
        customer_name: str,
        record: ContactRecord | None = None,
        *,
        contact_id: int | None = None,
    ) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customer_name = customer_name
        self.record = record
        self.contact_id = contact_id if record is None else record.id
        self.reading = record is None and contact_id is not None
        self.saved = False

    @property
    def editable(self) -> bool:
        actor = self.app.actor  # type: ignore[attr-defined]
        return actor is not None and actor.can(Role.OPERATOR)

    def _title(self) -> Any:
        if self.reading:
            return join(("Contact ", "bold"), ("loading…", "dim"))
        if self.record is None:
            return join(("New contact for ", "bold"), (self.customer_name, "bold"))
        return join(
            ("Contact ", "bold"),
            (self.record.name, "bold"),
            (f"  {self.customer_name} · version {self.record.version}", "dim"),
        )

    def compose(self) -> ComposeResult:
        texts = contact_texts(self.record) if self.record else dict(BLANK_TEXTS)
        editable = self.editable
        rows = (
            [] if self.reading else contact_rows(texts, new=self.record is None, editable=editable)
        )
        if editable:
            # The name takes the keys first (a blank form at once, a read one when it is in):
            # the default would focus the scrolling body first, restyling every field twice.
            self.AUTO_FOCUS = "#field-name"
        with Vertical(classes="dialog contact-dialog", id="contact-dialog"):
            yield Static(self._title(), classes="dialog-title", id="contact-title")
            with VerticalScroll(id="contact-body", classes="contact-body"):
                yield Form(*rows, id="contact-form")
            yield Label(self._info(), id="contact-info", markup=False)
            with Horizontal(classes="dialog-buttons", id="contact-buttons"):
                if editable:
                    yield Button(
                        "Save & Continue ^g", id="save-continue", variant="primary", compact=True
                    )
                    yield Button("Save & Stay ^s", id="save-stay", compact=True)
                    yield Button("Delay & Save ^d", id="delay-save", compact=True)
                yield Button("Close (esc)", id="close", compact=True)

    def on_mount(self) -> None:
        if self.reading:
            self._load()
            return
        self._show_password_rows()
        self.query_one(Form).mark_clean()
        # A blank form has nothing a typed-ahead key could replace: the name takes keys at once.
        self.query_one("#field-name", Input).focus()

    def _load(self) -> None:
        from carriertui.store.contacts import service as contacts

        db, actor = session_of(self)
        contact_id = self.contact_id
        assert contact_id is not None

        def loaded(record: ContactRecord) -> None:
            self.reading = False
            self.customer_id, self.customer_name = record.customer_id, record.customer_name
            self.call_later(self._reset_form, record)

        def failed(error: Exception) -> None:
            report_error(self.app, error)
            self.dismiss(False)

        run_service(
            self,
            lambda: contacts.get_contact(db, actor, contact_id),
            on_done=loaded,
            on_error=failed,
            group="contact-form-load",
            exclusive=True,
        )

    def _info(self) -> str:
        record = self.record
        if self.reading:
            return "Reading the contact…"
        if record is None:
            return "Required: Name and Email."
        login = f"last login {utc(record.last_login_at)}" if record.last_login_at else "never"
        password = "password set" if record.has_password else "no password yet (email queued)"
        if record.must_change_password:
            password += ", must change at next login"
        return f"Portal: {login}; {password}."

    @on(Switch.Changed, "#field-auto_password")
    def _show_password_rows(self) -> None:
        auto = self.query("#field-auto_password")
        manual = bool(auto) and not auto.first(Switch).value
        for field in ("password", "password_confirm"):
            row = self.query_one(Form).row(field)
            if row is not None:
                row.display = manual

    # -- reading the form -------------------------------------------------------------------

    def _values(self) -> dict[str, Any]:
        form = self.query_one(Form)
        values: dict[str, Any] = {}
        for field in EDITABLE_FIELDS:
            row = form.row(field)
            assert row is not None
            values[field] = row.value
        return values

    def _changes(self) -> dict[str, Any]:
        values = self._values()
        if self.record is None:
            return values
        before = contact_texts(self.record)
        return {field: value for field, value in values.items() if value != before[field]}

    def _typed_password(self) -> tuple[bool, str | None]:
        """(ok, password): None means Auto Generate; ok False when an error was shown."""
        if self.record is not None:
            return True, None
        form = self.query_one(Form)
        if self.query_one("#field-auto_password", Switch).value:
            return True, None
        password = self.query_one("#field-password", Input).value
        confirm = self.query_one("#field-password_confirm", Input).value
        if not password:
            form.show_error("password", "is required when Auto Password is off")
            return False, None
        if password != confirm:
            form.show_error("password_confirm", "does not match the password")
            return False, None
        return True, password

    # -- saving -----------------------------------------------------------------------------

    def action_save(self, mode: str) -> None:
        if not self.editable or self.reading:
            return
        form = self.query_one(Form)
        form.clear_errors()
        ok, password = self._typed_password()
        if not ok:
            return
        changes = self._changes()
        if self.record is not None and not changes:
            self.notify("No changes to save", timeout=3)
            if mode == "continue":
                self.dismiss(self.saved)
            return
        warning = notes_password_warning(changes, password)
        if warning is not None:
            self._confirm_notes(warning, lambda: self._submit(mode, changes, password))
            return
        self._submit(mode, changes, password)

    def _confirm_notes(self, warning: NotesLookLikePasswordError, go: Any) -> None:
        from carriertui.widgets.confirm import ConfirmScreen

        self.query_one(Form).show_error(warning.field, warning.message)

        def answered(yes: bool | None) -> None:
            if yes:
                go()

        self.app.push_screen(
            ConfirmScreen(
                f"{LABELS.get(warning.field, warning.field)} {warning.message}. Passwords never "
                "belong in notes. Save anyway?",
                "Save anyway",
                "Edit notes",
            ),
            answered,
        )

    def _submit(self, mode: str, changes: dict[str, Any], password: str | None) -> None:
        from carriertui.store.contacts import service as contacts

        db, actor = session_of(self)
        record, customer_id = self.record, self.customer_id
        if record is None:

            def call(reason: str | None) -> ContactRecord:
                return contacts.create_contact(
                    db,
                    actor,
                    customer_id,
                    changes,
                    password=password,
                    confirm_notes=True,
                    comment=reason,
                )
        else:

            def call(reason: str | None) -> ContactRecord:
                return contacts.update_contact(
                    db,
                    actor,
                    record.id,
                    changes,
                    expected_version=record.version,
                    confirm_notes=True,
                    comment=reason,
                )

        self.edit.save(
            call,
            changes,
            on_done=lambda saved: self._saved(
                saved, mode, created=record is None, auto=not password
            ),
            group="contact-save",
        )

    def _saved(self, saved: ContactRecord, mode: str, *, created: bool, auto: bool) -> None:
        self.saved = True
        if created:
            message = f"Contact {saved.name} added"
            if auto:
                message += f"; a password email to {saved.email} is queued"
                self.app.kick_outbox()  # type: ignore[attr-defined]
        else:
            message = f"Contact {saved.name} saved"
        notify_plain(self.app, message, timeout=4)
        if mode == "continue":
            self.dismiss(True)
            return
        # Save and Stay: a blank form for the next contact, or the saved one again.
        self.call_later(self._reset_form, None if created else saved)

    async def _reset_form(self, record: ContactRecord | None) -> None:
        self.record = record
        form = self.query_one(Form)
        await form.remove_children()
        texts = contact_texts(record) if record else dict(BLANK_TEXTS)
        await form.mount_all(contact_rows(texts, new=record is None, editable=self.editable))
        self.query_one("#contact-title", Static).update(self._title())
        self.query_one("#contact-info", Label).update(plain(self._info()))
        self._show_password_rows()
        form.mark_clean()
        name = self.query_one("#field-name", Input)
        if record is None:
            name.focus()
        else:
            focus_when_ready(self, name)  # keys typed while it was read go nowhere

    @property
    def edit(self) -> EditSession[ContactRecord]:
        """The form's edit of the contact (save, conflicts, Delay and Save)."""

        def reload(current: ContactRecord) -> None:
            self.call_later(self._reset_form, current)

        def keep(current: ContactRecord) -> None:
            self.record = current
            self.query_one("#contact-title", Static).update(self._title())

        return EditSession(
            self,
            what="contact",
            form=lambda: self.query_one(Form),
            opened=lambda: self.record,
            texts=contact_texts,
            reload=reload,
            keep=keep,
            labels=LABELS,
            shown=_shown,
        )

    # -- Delay and Save ---------------------------------------------------------------------

    def action_delay(self) -> None:
        if not self.editable or self.reading:
            return
        if self.record is None:
            self.notify(
                "Delay and Save applies to changes of an existing contact: save the new "
                "contact first",
                severity="warning",
                timeout=5,
            )
            return
        self.query_one(Form).clear_errors()
        changes = self._changes()
        if not changes:
            self.notify("No changes to delay", timeout=3)
            return
        warning = notes_password_warning(changes)
        if warning is not None:
            self._confirm_notes(warning, lambda: self._ask_due(changes))
            return
        self._ask_due(changes)

    def _ask_due(self, changes: dict[str, Any]) -> None:
        from carriertui.store.contacts import service as contacts

        record = self.record
        assert record is not None

        def done(scheduled: Any) -> None:
            notify_plain(
                self.app,
                f"Scheduled for {utc(scheduled.due_at)} UTC: {scheduled.description} "
                "(go: delay log)",
                timeout=6,
            )
            self.saved = True
            self.dismiss(True)

        self.edit.delay(
            contacts.TABLE,
            record.id,
            record.version,
            changes,
            on_done=done,
            group="contact-delay",
        )

    @on(Button.Pressed, "#save-continue")
    def _press_continue(self) -> None:
        self.action_save("continue")

    @on(Button.Pressed, "#save-stay")
    def _press_stay(self) -> None:
        self.action_save("stay")

    @on(Button.Pressed, "#delay-save")
    def _press_delay(self) -> None:
        self.action_delay()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        dirty = self.editable and not self.reading and self.query_one(Form).dirty
        self.edit.close(dirty, lambda: self.dismiss(self.saved))
