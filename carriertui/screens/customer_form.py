"""The customer form: used to create a customer (modal) and on the customer's Main tab."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from carriertui.screens.base import report_error, save_with_reason
from carriertui.store.customers import CustomerRecord
from carriertui.store.enums import CustomerStatus, InvoiceSchedule
from carriertui.text import sanitize
from carriertui.widgets.form import FieldRow, Form
from carriertui.widgets.format import number
from carriertui.widgets.work import session_of

STATUS_OPTIONS = [(status.value, status.value) for status in CustomerStatus]
SCHEDULE_OPTIONS = [(schedule.value.capitalize(), schedule.value) for schedule in InvoiceSchedule]


NEW_CUSTOMER_TEXTS = {
    "name": "",
    "account_code": "",
    "status": CustomerStatus.ACTIVE.value,
    "currency": "USD",
    "tax_percent": "0",
    "balance": "0",
    "debit_limit": "0",
    "channels": "0",
    "invoice_schedule": InvoiceSchedule.NONE.value,
    "invoice_due_days": "0",
}
_DECIMAL = r"[-0-9.,]*"
_WHOLE = r"[0-9,_]*"


def customer_rows(record: CustomerRecord | None, *, editable: bool) -> list[FieldRow]:
    """The form rows for a customer; ``record`` None means a new one (currency editable)."""
    shown = form_texts(record) if record is not None else NEW_CUSTOMER_TEXTS

    def text(field: str, placeholder: str = "", *, restrict: str | None = None) -> Input:
        return Input(
            shown[field],
            placeholder=placeholder,
            id=f"field-{field}",
            compact=True,
            disabled=not editable,
            restrict=restrict,
        )

    def select(field: str, options: list[tuple[str, str]]) -> Select[str]:
        return Select(
            options,
            value=shown[field],
            allow_blank=False,
            id=f"field-{field}",
            compact=True,
            disabled=not editable,
        )

    currency = Input(
        shown["currency"],
        id="field-currency",
        compact=True,
        disabled=not editable or record is not None,
        max_length=3,
        tooltip="Fixed once the customer exists",
    )
    return [
        FieldRow("Name", text("name", "Company name"), field="name"),
        FieldRow(
            "Account code",
            text("account_code", "e.g. NWT-001"),
            field="account_code",
            hint="Unique; letters, digits, . _ -",
        ),
        FieldRow("Status", select("status", STATUS_OPTIONS), field="status"),
        FieldRow("Currency", currency, field="currency", hint="ISO 4217; fixed after creation"),
        FieldRow("Tax %", text("tax_percent", restrict=_DECIMAL), field="tax_percent"),
        FieldRow("Balance", text("balance", restrict=_DECIMAL), field="balance"),
        FieldRow(
            "Debit limit",
            text("debit_limit", restrict=_DECIMAL),
            field="debit_limit",
            hint="How far below zero the balance may go",
        ),
        FieldRow(
            "Channels",
            text("channels", restrict=_WHOLE),
            field="channels",
            hint="Concurrent calls allowed",
        ),
        FieldRow(
            "Invoice schedule",
            select("invoice_schedule", SCHEDULE_OPTIONS),
            field="invoice_schedule",
        ),
        FieldRow(
            "Invoice due days", text("invoice_due_days", restrict=_WHOLE), field="invoice_due_days"
        ),
    ]


def form_texts(record: CustomerRecord) -> dict[str, str]:
    """What each control shows for ``record``: the inverse of the service's parsing.

    Text fields are sanitized like every other display of data (an Input renders its value
    verbatim); a field left as shown is not a change, so a stored control character is only
    replaced when the operator edits that field.
    """
    return {
        "name": sanitize(record.name),
        "account_code": sanitize(record.account_code or ""),
        "status": record.status.value,
        "currency": record.currency,
        "tax_percent": number(record.tax_percent),
        "balance": number(record.balance),
        "debit_limit": number(record.debit_limit),
        "channels": str(record.channels),
        "invoice_schedule": record.invoice_schedule.value,
        "invoice_due_days": str(record.invoice_due_days),
    }


def fill_form(form: Form, record: CustomerRecord) -> None:
    """Show ``record`` in an existing form (after a save or a reload)."""
    for field, text in form_texts(record).items():
        row = form.row(field)
        if row is None:
            continue
        control = row.control
        if isinstance(control, Input | Select):
            control.value = text


def changed_values(form: Form, record: CustomerRecord) -> dict[str, Any]:
    """The fields whose text differs from ``record`` (the service parses and validates them)."""
    shown = form_texts(record)
    return {
        field: value
        for field, value in form.values().items()
        if field != "currency" and str(value if value is not None else "").strip() != shown[field]
    }


class NewCustomerScreen(ModalScreen[CustomerRecord | None]):
    """Create a customer. Errors appear under the field they belong to; nothing is saved until
    every field is valid."""

    HELP = (
        "Fill in the customer and press {new_customer.save} (or the Create button). Currency "
        "cannot be changed later. {new_customer.cancel} closes without saving."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Create", id="new_customer.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="new_customer.cancel"),
    ]
    # The name takes the keys at once; the default would focus the scrolling body first and
    # restyle every field twice.
    AUTO_FOCUS = "#field-name"

    def compose(self) -> ComposeResult:
        with Vertical(id="new-customer", classes="dialog"):
            yield Static("New customer", classes="dialog-title")
            with VerticalScroll(classes="dialog-body"), Form(id="customer-form"):
                yield from customer_rows(None, editable=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create (ctrl+s)", id="create", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#field-name", Input).focus()

    @on(Button.Pressed, "#create")
    def action_save(self) -> None:
        form = self.query_one(Form)
        form.clear_errors()
        values = {k: v for k, v in form.values().items() if not (k == "account_code" and not v)}
        db, actor = session_of(self)
        from carriertui.store import customers

        save_with_reason(
            self,
            lambda reason: customers.create_customer(db, actor, values, comment=reason),
            on_done=self.dismiss,
            on_error=self._failed,
            group="create",
        )

    def _failed(self, error: Exception) -> None:
        if not self.query_one(Form).show_validation_error(error):
            report_error(self.app, error)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
