"""Shared by the portal's Pilot and snapshot tests: a customer with a contact, and a contact's
moves at the portal login."""

from __future__ import annotations

import html
import mailbox
import re
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, Static

from carriertui.store import customers, mail
from carriertui.store.contacts import service as contacts
from carriertui.store.context import Actor
from carriertui.store.enums import Role
from tests.functional.harness import open_db, seed, settle, wait_for

ADMIN = Actor("seed-admin", Role.ADMIN, "127.0.0.1")
CONTACT_EMAIL = "jane.doe@northwind.example"
CONTACT_PASSWORD = "violet otter juggles lanterns"
NEW_PASSWORD = "seven quiet herons cross the river"
# Markup-like on purpose: it must show literally.
PUBLIC_NOTE = "Support desk: +44 20 7946 0000 [b]not markup[/b]"
PUBLIC_CANARY = "not markup"
PRIVATE_CANARY = "CANARY7731PRIVATE"


def seed_portal(
    tmp_path: Path, *, whitelist: str = "", password: str | None = CONTACT_PASSWORD
) -> tuple[str, int]:
    """The harness's operators and customers, plus Jane Doe at Northwind Telecom Ltd with public
    and private notes. Returns the database URL and the contact's id. With ``password=None``
    the password is generated and mailed, as for a new contact: read it with mailed_password."""
    url = seed(tmp_path / "portal.sqlite")
    db = open_db(url)
    northwind = customers.find_customer(db, ADMIN, "NWT-001")
    record = contacts.create_contact(
        db,
        ADMIN,
        northwind.id,
        {
            "name": "Jane Doe",
            "email": CONTACT_EMAIL,
            "phone": "+44 20 7946 0958",
            "contact_type": "Billing",
            "public_notes": PUBLIC_NOTE,
            "private_notes": f"{PRIVATE_CANARY} VIP, escalate to the account manager",
            "ip_whitelist": whitelist,
        },
        password=password,
    )
    db.dispose()
    return url, record.id


def mailed_password(url: str, maildir: Path) -> str:
    """Deliver the outbox into ``maildir`` and read the generated password from the message."""
    db = open_db(url)
    mail.flush_outbox(db, mail.MaildirTransport(maildir))
    db.dispose()
    bodies = [message.get_payload(decode=True).decode() for message in mailbox.Maildir(maildir)]
    assert len(bodies) == 1, bodies
    found = re.search(r"Your password: (\S+)", bodies[0])
    assert found is not None, bodies[0]
    return found.group(1)


async def portal_login(
    pilot: Pilot[object], email: str, password: str, *, type_keys: bool = False
) -> None:
    """At the portal login: fill in email and password and press Enter, as a contact would
    (``type_keys`` types every character). Waits until the attempt is over."""
    app = pilot.app
    await wait_for(pilot, lambda: app.store_ready.is_set())  # type: ignore[attr-defined]
    screen = app.screen
    if type_keys:
        await pilot.click("#portal-email")
        await pilot.press(*email, "enter")
        await pilot.press(*password, "enter")
    else:
        screen.query_one("#portal-email", Input).value = email
        password_input = screen.query_one("#portal-password", Input)
        password_input.value = password
        password_input.focus()
        await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: app.screen is not screen or not screen.query_one("#portal-login-button").disabled,
    )
    await settle(pilot)


def screen_text(app) -> str:
    """Everything the current screen shows or holds: the rendered screen (SVG export) and the
    text of every Static, Label and Input, including widgets on tabs not visible now."""
    svg = html.unescape(app.export_screenshot()).replace("\xa0", " ")
    texts = [svg]
    for widget in app.screen.query("*"):
        if isinstance(widget, Input):
            texts.append(widget.value)
        elif isinstance(widget, Static):
            texts.append(str(widget.render()))
    return "\n".join(texts)
