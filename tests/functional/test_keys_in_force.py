"""Every key the README's "Keys in the TUI" tables and F1 name does what they say, on the
screen they name, at 80x24 (issue 12.4).

The README tables are parsed: each row's keys (the backticked words of the key column) are
looked up in the bindings in force on the screen the row names (``screen.active_bindings``:
what a key press would run). A key must be bound there, enabled, and to an action whose
description shares a word with the README's text for it: `l` for Portal Login, taken by the
grid's move right, fails that check. Then F1 on each of those screens: every key it lists is
in force there with the text F1 shows.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.widgets import DataTable, TabbedContent

from carriertui.app import CarrierApp
from carriertui.screens.help import HelpScreen
from tests.functional.harness import log_in, open_db, seed, settle, wait_for
from tests.functional.test_contacts import ADMIN, SIZE, _add_contact, _customer

README = Path(__file__).resolve().parents[2] / "README.md"
KEY_NAMES = {
    "[": "left_square_bracket",
    "]": "right_square_bracket",
    "/": "slash",
    "+": "plus",
    "=": "equals_sign",
    "pgup": "pageup",
    "pgdn": "pagedown",
    "esc": "escape",
}
STOPWORDS = {
    *("a", "an", "the", "of", "to", "and", "or", "it", "its", "for", "on", "in", "by"),
    *("under", "this", "is", "be", "with", "from", "as", "at", "all", "every", "one"),
    *("them", "their", "also", "only", "when", "same", "so", "there", "here", "now"),
}


def _keys_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Keys in the TUI")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _key(token: str) -> str:
    token = token.strip()
    lowered = token.lower()
    if lowered in KEY_NAMES:
        return KEY_NAMES[lowered]
    if len(token) == 1:
        return token  # `I` and `i`, `G` and `g` are different keys
    return lowered


def _keys(cell: str) -> list[str]:
    """The keys a key cell names: its backticked words, `hjkl` as four keys, and the plain
    word arrows (`shift`+arrows: with shift)."""
    keys: list[str] = []
    if "`shift`+arrows" in cell:
        keys += ["shift+up", "shift+down", "shift+left", "shift+right"]
        cell = cell.replace("`shift`+arrows", "")
    elif re.search(r"(^|[ ,])arrows", cell):
        keys += ["up", "down", "left", "right"]
    for token in re.findall(r"`([^`]+)`", cell):
        if token == "hjkl":
            keys += list("hjkl")
        else:
            keys.append(_key(token))
    return keys


def _words(text: str) -> set[str]:
    text = re.sub(r"`[^`]*`", " ", text)
    words = set()
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        words.add(word.removesuffix("s") if len(word) > 3 else word)
    return words


def readme_rows() -> list[tuple[str, str, str]]:
    """(where, key cell, what) for each row of the two tables; the grid table's rows are
    "grid"."""
    rows = []
    for line in _keys_section().splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cells = _cells(line)
        if cells[0] == "key":
            continue
        if len(cells) == 3:
            keys, where, what = cells
        else:
            (keys, what), where = cells, "grid"
        rows.append((where, keys, what))
    return rows


# -- opening each screen the README names ------------------------------------------------------

Opener = Callable[[object], Awaitable[None]]


async def _home(pilot) -> None:
    app: CarrierApp = pilot.app
    while len(app.screen_stack) > 2:
        app.pop_screen()
        await settle(pilot, 1)
    await settle(pilot)


async def _customer_tab(pilot, tab: str, *, in_field: bool = False) -> None:
    from carriertui.screens.customer.screen import CustomerScreen

    app: CarrierApp = pilot.app
    await _home(pilot)
    app.open_customer(pilot.customer_id)
    await wait_for(
        pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.record is not None
    )
    await settle(pilot)
    tabs = app.screen.query_one(TabbedContent)
    tabs.active = tab
    await settle(pilot)
    if in_field:
        app.screen.query_one("#field-name").focus()
        await settle(pilot)


async def _contacts_grid(pilot) -> None:
    await _customer_tab(pilot, "contacts")
    await wait_for(pilot, lambda: pilot.app.screen.query_one("#contacts-grid").view.loaded)


async def _contact_form(pilot) -> None:
    from carriertui.screens.customer.contact_form import ContactFormScreen

    await _contacts_grid(pilot)
    await pilot.press("e")
    await wait_for(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, ContactFormScreen)
            and pilot.app.screen.query("#field-name")
        ),
    )
    await settle(pilot)


def _pushed(go: str, ready: Callable[[object], bool] = lambda screen: True) -> Opener:
    async def open_screen(pilot) -> None:
        await _home(pilot)
        before = pilot.app.screen
        getattr(pilot.app, go)()
        await wait_for(pilot, lambda: pilot.app.screen is not before and ready(pilot.app.screen))
        await settle(pilot)

    return open_screen


async def _customers(pilot) -> None:
    await _home(pilot)


async def _portal_login(pilot) -> None:
    from carriertui.screens.portal import PortalScreen

    await _contacts_grid(pilot)
    await pilot.press("m")
    await settle(pilot)
    await pilot.press("down", "down", "enter")  # Edit, Change Password, Portal Login
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PortalScreen))
    await settle(pilot)


OPENERS: dict[str, list[Opener]] = {
    "everywhere": [_customers, lambda pilot: _customer_tab(pilot, "audit"), _contact_form],
    "customers": [_customers],
    "forms": [
        lambda pilot: _customer_tab(pilot, "main", in_field=True),
        _contact_form,
        _pushed("go_options"),
    ],
    "customer": [lambda pilot: _customer_tab(pilot, "main")],
    "customer, Number Block tab": [lambda pilot: _customer_tab(pilot, "numbers")],
    "customer, Rules tab": [lambda pilot: _customer_tab(pilot, "rules")],
    "lists": [_customers, _pushed("go_audit_log"), _pushed("go_outbox")],
    "contacts": [_contacts_grid, _pushed("go_contacts")],
    "contact form": [_contact_form],
    "Delay Log": [_pushed("go_delay_log")],
    "Summary": [lambda pilot: _customer_tab(pilot, "summary")],
    "Outbox": [_pushed("go_outbox")],
    "Operators (`go: operators`, admins)": [_pushed("go_operators")],
    "Rate Cards (`go: rate cards`)": [_pushed("go_rate_cards")],
    "Alarms (`go: alarms`)": [_pushed("go_alarms")],
    "Alarm rules (`go: alarm rules`)": [_pushed("go_alarm_rules")],
    "screens": [lambda pilot: _customer_tab(pilot, "audit"), _pushed("go_audit_log")],
    "portal": [_portal_login],
    "grid": [_customers, _contacts_grid],
}


def _binding_words(binding) -> set[str]:
    return _words(f"{binding.description} {binding.tooltip} {binding.action}")


def _pairs(keys: list[str], cell: str, what: str) -> list[tuple[str, str]]:
    """`a` / `e` / `d` with "add / change / disable": each key with its part of the text
    (keys joined by "or" are alternatives for the whole text)."""
    parts = what.split(" / ")
    if " / " in cell and len(keys) > 1 and len(parts) == len(keys):
        return list(zip(keys, parts, strict=True))
    return [(key, what) for key in keys]


def in_force(app, key: str):
    """The binding a press of ``key`` runs on the current screen, as App._check_bindings
    finds it: priority bindings from the app down, then the others from the focused widget
    up (a dialog stops there). None when the key runs nothing."""
    screen = app.screen
    candidates = [
        (node, binding)
        for node, bindings in reversed(screen._binding_chain)
        for binding in bindings.key_to_bindings.get(key, ())
        if binding.priority
    ] + [
        (node, binding)
        for node, bindings in screen._modal_binding_chain
        for binding in bindings.key_to_bindings.get(key, ())
        if not binding.priority
    ]
    for node, binding in candidates:
        if not app._check_action_state(binding.action, node):
            continue
        if binding.action == "clear_selection" and getattr(node, "selection", 1) is None:
            continue  # the grid lets Esc through when nothing is selected (SkipAction)
        return binding
    return None


async def test_every_readme_key_and_every_f1_key_works_where_it_is_listed(
    tmp_path: Path,
) -> None:
    from carriertui.store import options

    url = seed(tmp_path / "k.sqlite")
    _add_contact(url)
    # A number plan, so `+` (assign the next block) is enabled as the README says.
    options.set_options(open_db(url), ADMIN, {"number_range_start": "1000", "block_size": "100"})
    rows = readme_rows()
    assert len(rows) > 25, rows  # the tables were found and parsed
    unknown = {where for where, _keys, _what in rows} - set(OPENERS)
    assert not unknown, f"README names screens this test cannot open: {unknown}"
    app = CarrierApp(url)
    problems: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        pilot.customer_id = _customer(url).id  # type: ignore[attr-defined]
        await log_in(pilot)
        for where, openers in OPENERS.items():
            wanted = [(keys, what) for row_where, keys, what in rows if row_where == where]
            for opener in openers:
                await opener(pilot)
                screen = app.screen
                shown = f"{where} ({type(screen).__name__}, focus {type(app.focused).__name__})"
                for cell, what in wanted:
                    pairs = _pairs(_keys(cell), cell, what)
                    # "(also `p`, `l`, `delete`)": more keys for the same text.
                    for also in re.findall(r"\(also ([^)]*)\)", what):
                        pairs += [(key, what) for key in _keys(also)]
                    for key, text in pairs:
                        binding = in_force(app, key)
                        if binding is None:
                            problems.append(f"{shown}: `{key}` does nothing ({text})")
                        elif not _words(text) & _binding_words(binding):
                            problems.append(
                                f"{shown}: `{key}` runs {binding.action!r} "
                                f"({binding.description}), README says {text!r}"
                            )
                problems += await _f1_problems(pilot, shown)
    assert not problems, "\n".join(problems)


async def _f1_problems(pilot, shown: str) -> list[str]:
    """F1 on the current screen: each key it lists must be in force with that text."""
    from carriertui.screens.help import _KEY_NAMES

    app = pilot.app
    screen = app.screen
    await pilot.press("f1")
    await settle(pilot)
    if not isinstance(app.screen, HelpScreen):
        return [f"{shown}: F1 does not open the help"]
    table = app.screen.query_one("#help-keys", DataTable)
    listed = [
        (str(table.get_row_at(index)[0]), str(table.get_row_at(index)[1]))
        for index in range(table.row_count)
    ]
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is screen)
    names = {label: key for key, label in _KEY_NAMES.items()}
    problems = []
    for label, does in listed:
        key = names.get(label, label)
        if does.startswith("Clear selection"):
            # The grid's Esc: clears a selection (there is none now), else passes Esc on.
            after = in_force(app, key)
            expected = "Clear selection" + (
                f"; with nothing selected: {after.tooltip or after.description}" if after else ""
            )
            if does != expected:
                problems.append(f"{shown}: F1 says `{label}` {does!r}, expected {expected!r}")
            continue
        binding = in_force(app, key)
        if binding is None:
            problems.append(f"{shown}: F1 lists `{label}` ({does}) but it does nothing")
        elif key in ("ctrl+p", "f1"):
            continue  # F1's own rows: what the palette offers, "This help"
        elif does not in (binding.tooltip, binding.description):
            problems.append(f"{shown}: F1 says `{label}` {does!r}, it runs {binding!r}")
    return problems


async def test_f1_follows_a_remapped_key_in_its_text_and_its_table(tmp_path: Path) -> None:
    """A [keymap] entry moves the key: F1's text and key table both name the new key."""
    from textual.widgets import Markdown

    from carriertui import locations

    config = locations.config_path()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[keymap]\n"customer.switch" = "ctrl+k"\n"customer.save_stay" = "f9"\n')
    app = CarrierApp(seed(tmp_path / "c.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CustomerScreen")
        await settle(pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await settle(pilot)
        source = app.screen.query_one(Markdown).source or ""
        assert "`ctrl+k` switches to another customer" in source
        assert "`f9` is Save and Stay" in source
        assert "`ctrl+o`" not in source and "`ctrl+s`" not in source
        table = app.screen.query_one("#help-keys", DataTable)
        keys = {str(table.get_row_at(row)[0]) for row in range(table.row_count)}
        assert {"ctrl+k", "f9"} <= keys
        assert "ctrl+o" not in keys
