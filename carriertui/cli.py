"""Command line: ``carriertui`` opens the TUI; subcommands script the same services.

Start-up matters (``carriertui --help`` and the TUI's first frame), so nothing heavy is imported at
module level: the store (SQLModel, about 0.6 s) and argon2 are imported inside the commands.

Every write goes through a service with ``Actor.api()``, so CLI changes are audited like any other.
Every data string printed passes through :func:`carriertui.text.sanitize`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, NoReturn

from carriertui import locations
from carriertui.text import JSON_ESCAPE_CHARS, sanitize

if TYPE_CHECKING:
    from carriertui.store.db import Database

PROG = "carriertui"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
# The reader of standard output went away (``carriertui audit export | head``): exit as a
# process killed by SIGPIPE would (128 + 13), the status ``set -o pipefail`` scripts expect
# from ``yes | head``, without a word on standard error.
EXIT_BROKEN_PIPE = 141
BUSY_TIMEOUT_ENV = "CARRIERTUI_BUSY_TIMEOUT"
ROLES = ("admin", "operator", "viewer")
FORMATS = ("table", "json")


class CommandError(Exception):
    """A failure the CLI reports in one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# -- output ------------------------------------------------------------------------------------


def _out(line: str = "") -> None:
    """One line of the command's report on standard output, terminal or pipe alike: sanitized
    here too (the callers sanitize their data already; a pager such as ``less -R`` would
    otherwise pass an escape sequence that slipped through to the terminal). Newlines and tabs
    stay: print_json's indentation. CSV to standard output is data and does not come here."""
    print(sanitize(line, multiline=True))


def _cell_width(text: str) -> int:
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()
) -> None:
    """Columns padded to their widest cell; ``right`` lists the indexes of numeric columns."""
    cells = [[sanitize(value) for value in row] for row in rows]
    widths = [_cell_width(header) for header in headers]
    for row in cells:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], _cell_width(value))

    def line(values: Sequence[str]) -> str:
        parts = []
        for index, value in enumerate(values):
            pad = " " * (widths[index] - _cell_width(value))
            parts.append(pad + value if index in right else value + pad)
        return "  ".join(parts).rstrip()

    _out(line([sanitize(header) for header in headers]))
    _out(line(["-" * width for width in widths]))
    for row in cells:
        _out(line(row))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_json(data: Any) -> None:
    """JSON with every control character escaped: faithful data, harmless to a terminal."""
    # json.dumps escapes C0 controls inside strings but not DEL, C1 controls, bidi controls,
    # noncharacters or lone surrogates (with ensure_ascii off): those become \u escapes.
    text = json.dumps(data, default=_json_default, ensure_ascii=False, indent=2)
    text = JSON_ESCAPE_CHARS.sub(lambda match: json.dumps(match.group())[1:-1], text)
    # Only the indentation's newlines remain; sanitize keeps them and has nothing else to do.
    _out(sanitize(text, multiline=True))


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _when(value: datetime | None, missing: str = "-") -> str:
    return missing if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _money(value: Decimal) -> str:
    cents = value.quantize(Decimal("0.01"))
    return f"{cents:.2f}" if cents == value else f"{value.normalize():f}"


def _option_text(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- database ----------------------------------------------------------------------------------


def _busy_timeout(args: argparse.Namespace) -> float | None:
    raw = args.busy_timeout if args.busy_timeout is not None else os.environ.get(BUSY_TIMEOUT_ENV)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:
        raise CommandError(f"busy timeout must be a number of seconds, not {raw!r}", EXIT_USAGE)
    return seconds


def database_url(args: argparse.Namespace) -> str:
    return locations.database_url(args.db)


@contextmanager
def opened(args: argparse.Namespace, url: str | None = None) -> Iterator[Database]:
    """The database named by ``--db`` (or ``url``); a new one gets its schema, one at an older
    (or newer) schema is refused with exit 2 and nothing written: only ``init`` upgrades.

    A database already at the current version is not written to on open, so read commands keep
    working while another process holds the write lock.
    """
    from carriertui.store.db import open_database
    from carriertui.store.errors import SchemaVersionError

    kwargs: dict[str, Any] = {}
    timeout = _busy_timeout(args)
    if timeout is not None:
        kwargs["busy_timeout_s"] = timeout
    try:
        db = open_database(url or database_url(args), **kwargs)
    except SchemaVersionError as error:  # an older schema: only init upgrades it (exit 2)
        raise CommandError(str(error), EXIT_USAGE) from None
    try:
        yield db
    finally:
        db.dispose()


def api_actor():
    from carriertui.store.context import Actor

    return Actor.api()


# -- passwords ---------------------------------------------------------------------------------


def read_password(args: argparse.Namespace, username: str) -> str:
    """From one line of stdin (``--password-stdin``) or typed twice at a hidden prompt."""
    from carriertui.store.passwords import check_password_policy

    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise CommandError("no password on standard input", EXIT_USAGE)
        password = line.removesuffix("\n").removesuffix("\r")
        check_password_policy(password, username=username)
        return password

    import getpass

    try:
        password = getpass.getpass(f"New password for {username}: ")
        # Check before asking again: nobody should type a rejected password twice.
        check_password_policy(password, username=username)
        again = getpass.getpass("Repeat the password: ")
    except EOFError:
        raise CommandError("no password given", EXIT_USAGE) from None
    if password != again:
        raise CommandError("the passwords do not match; nothing was changed", EXIT_USAGE)
    return password


# -- commands ----------------------------------------------------------------------------------


def cmd_tui(args: argparse.Namespace) -> int:
    from carriertui.terminal import refuse_without_terminal

    refused = refuse_without_terminal()  # before Textual, the store or the database
    if refused is not None:
        return refused
    from carriertui.app import run

    return run(database_url(args))


def cmd_portal(args: argparse.Namespace) -> int:
    from carriertui.terminal import refuse_without_terminal

    refused = refuse_without_terminal()
    if refused is not None:
        return refused
    from carriertui.app import run

    return run(database_url(args), portal=True)


def cmd_serve(args: argparse.Namespace) -> int:
    """The UI (or the portal) in a browser: carriertui/web.py. A server, so no terminal check;
    the database is opened once first, so that a wrong --db fails here and not in a browser."""
    from carriertui.web import serve

    url = database_url(args)
    with opened(args, url):
        pass
    return serve(
        url, portal=args.portal, host=args.host, port=args.port, public_url=args.public_url
    )


def cmd_init(args: argparse.Namespace) -> int:
    """Create the schema of a new database, or upgrade an older one after a backup
    (carriertui/cli_upgrade.py); ``carriertui upgrade`` is the same command."""
    from carriertui.cli_upgrade import run_init
    from carriertui.store.db import open_database

    def open_only() -> Database:
        timeout = _busy_timeout(args)
        kwargs = {} if timeout is None else {"busy_timeout_s": timeout}
        return open_database(database_url(args), create=False, **kwargs)

    return run_init(args, open_only, CommandError)


def _operator_row(record: Any) -> dict[str, Any]:
    return {
        "name": record.name,
        "role": record.role.value,
        "failed_logins": record.failed_logins,
        "locked_until": record.locked_until,
        "last_login_at": record.last_login_at,
        "created_at": record.created_at,
        "disabled_at": record.disabled_at,
    }


def cmd_operator_add(args: argparse.Namespace) -> int:
    from carriertui.store import operators
    from carriertui.store.errors import NotFoundError, ValidationError

    name = operators.validate_name(args.name)
    with opened(args) as db:
        actor = api_actor()
        try:  # fail before the prompt; create_operator checks again inside its transaction
            operators.get_operator(db, actor, name)
            raise ValidationError("name", f"an operator named {name!r} exists already")
        except NotFoundError:
            pass
        password = read_password(args, name)
        record = operators.create_operator(db, actor, name, args.role, password)
    _out(f"created operator {sanitize(record.name)} ({record.role.value})")
    return EXIT_OK


def cmd_operator_list(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        records = operators.list_operators(db, api_actor())
    if args.format == "json":
        print_json([_operator_row(record) for record in records])
        return EXIT_OK
    print_table(
        (
            "Name",
            "Role",
            "Failed logins",
            "Locked until (UTC)",
            "Last login (UTC)",
            "Created (UTC)",
            "Disabled (UTC)",
        ),
        [
            (
                r.name,
                r.role.value,
                r.failed_logins,
                _when(r.locked_until) if r.is_locked() else "-",
                _when(r.last_login_at, "never"),
                _when(r.created_at),
                _when(r.disabled_at) if r.is_disabled else "-",
            )
            for r in records
        ],
        right=(2,),
    )
    return EXIT_OK


def cmd_operator_passwd(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        actor = api_actor()
        name = operators.get_operator(db, actor, args.name.strip()).name  # fail before the prompt
        password = read_password(args, name)
        operators.change_password(db, actor, name, password)
    _out(f"password of operator {sanitize(name)} changed")
    return EXIT_OK


def cmd_operator_role(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        record = operators.set_role(db, api_actor(), args.name.strip(), args.role)
    _out(f"operator {sanitize(record.name)} is now {record.role.value}")
    return EXIT_OK


def cmd_operator_disable(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        record = operators.set_disabled(db, api_actor(), args.name.strip(), True)
    _out(
        f"operator {sanitize(record.name)} disabled: no login, and their delayed changes are "
        "not applied"
    )
    return EXIT_OK


def cmd_operator_enable(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        record = operators.set_disabled(db, api_actor(), args.name.strip(), False)
    _out(f"operator {sanitize(record.name)} enabled")
    return EXIT_OK


def cmd_operator_unlock(args: argparse.Namespace) -> int:
    from carriertui.store import operators

    with opened(args) as db:
        record = operators.unlock_operator(db, api_actor(), args.name.strip())
    _out(f"operator {sanitize(record.name)} unlocked")
    return EXIT_OK


CUSTOMER_COLUMNS = (
    "Name",
    "Code",
    "Status",
    "Currency",
    "Balance",
    "Debit limit",
    "Channels",
    "Schedule",
)


def cmd_customers_list(args: argparse.Namespace) -> int:
    from carriertui.store import customers

    with opened(args) as db:
        records = customers.list_customers(db, api_actor(), args.search)
    if args.format == "json":
        print_json([record.values() for record in records])
        return EXIT_OK
    print_table(
        CUSTOMER_COLUMNS,
        [
            (
                r.name,
                r.account_code or "",
                r.status.value,
                r.currency,
                _money(r.balance),
                _money(r.debit_limit),
                r.channels,
                r.invoice_schedule.value,
            )
            for r in records
        ],
        right=(4, 5, 6),
    )
    return EXIT_OK


def cmd_customers_show(args: argparse.Namespace) -> int:
    from carriertui.store import customers

    with opened(args) as db:
        record = customers.find_customer(db, api_actor(), args.customer)
    values = record.values()
    if args.format == "json":
        print_json(values)
        return EXIT_OK
    print_table(
        ("Field", "Value"), [(field, _field_text(value)) for field, value in values.items()]
    )
    return EXIT_OK


def _field_text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "value"):  # enums
        return str(value.value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# CLI option dest -> customer field
CUSTOMER_OPTIONS = {
    "name": "name",
    "code": "account_code",
    "currency": "currency",
    "status": "status",
    "tax": "tax_percent",
    "balance": "balance",
    "debit_limit": "debit_limit",
    "channels": "channels",
    "invoice_schedule": "invoice_schedule",
    "invoice_due_days": "invoice_due_days",
}


def cmd_customers_add(args: argparse.Namespace) -> int:
    from carriertui.store import customers

    values = {
        field: getattr(args, dest)
        for dest, field in CUSTOMER_OPTIONS.items()
        if getattr(args, dest) is not None
    }
    with opened(args) as db:
        record = customers.create_customer(db, api_actor(), values)
    _out(f"created customer {record.id}: {sanitize(record.name)}")
    return EXIT_OK


def cmd_options_show(args: argparse.Namespace) -> int:
    from carriertui.store import options

    with opened(args) as db:
        current = options.get_options(db, api_actor()).as_dict()
    rows = [
        {"key": key, "label": definition.label, "value": current[key]}
        for key, definition in options.DEFINITIONS.items()
    ]
    if args.format == "json":
        print_json(rows)
        return EXIT_OK
    print_table(
        ("Key", "Label", "Value"),
        [(row["key"], row["label"], _option_text(row["value"])) for row in rows],
    )
    return EXIT_OK


def cmd_options_set(args: argparse.Namespace) -> int:
    from carriertui.store import options

    key = options.resolve_key(args.key).key
    with opened(args) as db:
        current = options.set_options(db, api_actor(), {key: args.value}).as_dict()
    _out(f"{key} = {sanitize(_option_text(current[key]))}")
    return EXIT_OK


def _block_row(block: Any) -> tuple[Any, ...]:
    return (
        block.customer_name,
        block.block_index,
        block.range_start,
        block.range_end,
        block.prefix or "-",
        block.extensions_text or "-",
        block.used,
        block.free,
    )


def _print_blocks(blocks: Sequence[Any], fmt: str) -> None:
    if fmt == "json":
        print_json([block.values() for block in blocks])
        return
    print_table(
        ("Customer", "Block", "First", "Last", "Prefix", "Extensions", "Used", "Free"),
        [_block_row(block) for block in blocks],
        right=(1, 2, 3, 6, 7),
    )


def cmd_numbers_allocate(args: argparse.Namespace) -> int:
    from carriertui.store import customers, numbers

    with opened(args) as db:
        actor = api_actor()
        customer = customers.find_customer(db, actor, args.customer)
        block = numbers.allocate_next_block(db, actor, customer.id)
    _out(
        f"block {block.block_index} ({block.range_start}-{block.range_end}) assigned to "
        f"{sanitize(customer.name)}"
    )
    return EXIT_OK


def cmd_numbers_release(args: argparse.Namespace) -> int:
    from carriertui.store import customers, numbers

    with opened(args) as db:
        actor = api_actor()
        customer = customers.find_customer(db, actor, args.customer)
        block = numbers.release_block(db, actor, customer.id, args.block)
    _out(
        f"block {block.block_index} ({block.range_start}-{block.range_end}) released by "
        f"{sanitize(customer.name)}"
    )
    return EXIT_OK


def cmd_numbers_list(args: argparse.Namespace) -> int:
    from carriertui.store import customers, numbers

    with opened(args) as db:
        actor = api_actor()
        customer_id = None
        if args.customer is not None:
            customer_id = customers.find_customer(db, actor, args.customer).id
        blocks = numbers.list_blocks(db, actor, customer_id)
    _print_blocks(blocks, args.format)
    return EXIT_OK


def _block_index(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or not value.isascii():
        raise argparse.ArgumentTypeError(
            f"BLOCK is a block number as 'numbers list' shows it, not {text!r}"
        )
    return int(value)


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time as an aware UTC datetime; a naive one is taken as UTC.

    A date alone is its first microsecond, or with ``end_of_day`` its last (so ``--until`` with a
    date includes that whole day).
    """
    value = text.strip()
    try:
        day: date | None = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1, microseconds=-1) if end_of_day else start
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"not an ISO date or date-time: {text!r} (e.g. 2026-03-01 or 2026-03-01T14:30:00Z)",
            EXIT_USAGE,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _write_csv_to_stdout(columns: Sequence[Any], batches: Any) -> None:
    """CSV as ``grid.export.write_csv`` writes it (the same cells: RFC 4180, formulas
    neutralised), to standard output; on a terminal, control characters are made visible."""
    import csv

    from carriertui.grid.export import csv_cell, csv_text

    terminal = sys.stdout.isatty()

    def cell(value: Any) -> Any:
        shown = csv_cell(value)
        return sanitize(shown) if terminal and isinstance(shown, str) else shown

    writer = csv.writer(sys.stdout, dialect="excel", lineterminator="\r\n")
    writer.writerow([csv_text(column.title) for column in columns])
    for batch in batches:
        writer.writerows([[cell(value) for value in values] for _key, values in batch])
    sys.stdout.flush()


def cmd_audit_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from carriertui.grid.export import ExportError, write_csv
    from carriertui.store import audit, customers

    since = parse_moment(args.since) if args.since else None
    until = parse_moment(args.until, end_of_day=True) if args.until else None
    if since is not None and until is not None and since > until:
        raise CommandError("--since is after --until: nothing could match", EXIT_USAGE)
    with opened(args) as db:
        actor = api_actor()
        customer_id = None
        if args.customer is not None:
            customer_id = customers.find_customer(db, actor, args.customer).id
        batches = audit.export_batches(db, actor, customer_id=customer_id, since=since, until=until)
        to_stdout = args.output in (None, "-")
        try:
            if to_stdout and args.format == "json":
                audit.write_json(sys.stdout, batches)
                sys.stdout.flush()
            elif to_stdout:
                _write_csv_to_stdout(audit.EXPORT_COLUMNS, audit.csv_rows(batches))
            else:
                path = Path(args.output).expanduser()
                if args.format == "json":
                    count = audit.export_json(path, batches)
                else:
                    count = write_csv(path, audit.EXPORT_COLUMNS, audit.csv_rows(batches))
                _out(f"exported {count} audit entries to {sanitize(path)}")
        except ExportError as error:
            raise CommandError(str(error)) from error
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from carriertui.store import audit

    with opened(args) as db:
        result = audit.verify(db, api_actor())
    for warning in result.warnings:
        print(f"warning: {sanitize(warning)}", file=sys.stderr)
    _out(sanitize(result.message))
    return EXIT_OK if result.ok else EXIT_ERROR


# -- CDRs, roll-ups, summaries -----------------------------------------------------------------


class _ProgressBar:
    """A one-line progress bar on standard error, drawn only when it is a terminal."""

    WIDTH = 30

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self._last = 0.0
        self._drawn = False

    def update(self, rows: int, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if not self.enabled or now - self._last < 0.1:
            return
        self._last = now
        fraction = min(done / total, 1.0) if total else 1.0
        filled = int(fraction * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {fraction:4.0%} {rows:,} rows")
        sys.stderr.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _path_argument(text: str) -> Any:
    from pathlib import Path

    return Path(text).expanduser()


def cmd_cdr_import(args: argparse.Namespace) -> int:
    from carriertui.store import cdrs

    if args.rejects and not args.skip_bad:
        raise CommandError("--rejects needs --skip-bad", EXIT_USAGE)
    path = _path_argument(args.file)
    bar = _ProgressBar(f"importing {sanitize(path.name)}")
    with opened(args) as db:
        try:
            report = cdrs.import_cdr_file(
                db,
                api_actor(),
                path,
                skip_bad=args.skip_bad,
                rejects_path=_path_argument(args.rejects) if args.rejects else None,
                on_progress=bar.update,
            )
        except cdrs.CdrImportError as error:
            bar.close()
            for bad in error.errors:
                print(sanitize(str(bad)), file=sys.stderr)
            raise CommandError(str(error)) from error
        finally:
            bar.close()
    for bad in report.errors:
        print(f"skipped {sanitize(str(bad))}", file=sys.stderr)
    _out(sanitize(str(report)))
    if report.rejects_path is not None and report.bad_rows:
        _out(f"bad rows written to {sanitize(report.rejects_path)}")
    _out(f"throughput: {report.rows_per_s:,.0f} rows/s")
    return EXIT_OK


def _customer_id(db: Any, text: str) -> int:
    from carriertui.store import customers

    return customers.find_customer(db, api_actor(), text).id


def _parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"{option}: not a date: {text!r} (YYYY-MM-DD)", EXIT_USAGE) from None


def cmd_cdr_export(args: argparse.Namespace) -> int:
    from carriertui.grid.export import ExportError
    from carriertui.store import cdrs

    day = _parse_day(args.date, "--date")
    with opened(args) as db:
        actor = api_actor()
        customer_id = _customer_id(db, args.customer)
        try:
            if args.output in (None, "-"):
                _report, batches = cdrs.report_batches(db, actor, customer_id, args.period, day)
                _write_csv_to_stdout(cdrs.REPORT_COLUMNS, batches)
                return EXIT_OK
            bar = _ProgressBar("exporting CDRs")
            try:
                report = cdrs.export_cdr_report(
                    db,
                    actor,
                    customer_id,
                    args.period,
                    day,
                    _path_argument(args.output),
                    on_progress=lambda rows: bar.update(rows, 0, 0),
                )
            finally:
                bar.close()
        except ExportError as error:
            raise CommandError(str(error)) from error
    _out(
        f"exported {report.rows} CDRs of {sanitize(report.customer_code)} "
        f"({report.kind.value}, {iso_utc(report.start)} to {iso_utc(report.end)}) "
        f"to {sanitize(report.path)}"
    )
    return EXIT_OK


def cmd_rollup(args: argparse.Namespace) -> int:
    from carriertui.store import rollups

    with opened(args) as db:
        run = rollups.rollup_rebuild if args.rebuild else rollups.rollup_incremental
        report = run(db)
    _out(f"roll-up {report}")
    return EXIT_OK


SUMMARY_FIELDS = (
    "period_start",
    "period",
    "partial",
    "attempts",
    "connected",
    "asr",
    "acd",
    "duration",
    "billed_duration",
    "charge",
    "cost",
    "profit",
    "profit_pct",
)
_SUMMARY_RATIOS = ("asr", "acd", "profit_pct")


def _summary_json_row(row: Any) -> dict[str, Any]:
    values = row.values()
    for key in _SUMMARY_RATIOS:  # numbers, not strings: they are not money
        if values[key] is not None:
            values[key] = float(values[key])
    return values


def _write_atomically(path: Any, text: str) -> None:
    """``text`` to ``path`` through a temporary file renamed into place (mode 0600)."""
    import tempfile

    folder = path.parent
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except BaseException:
        if os.path.exists(name):
            os.unlink(name)
        raise


def cmd_summary(args: argparse.Namespace) -> int:
    from carriertui.grid.export import ExportError, write_csv
    from carriertui.grid.model import Column, ColumnType
    from carriertui.store import summary

    first = _parse_day(args.date_from, "--from") if args.date_from else None
    last = _parse_day(args.date_to, "--to") if args.date_to else None
    with opened(args) as db:
        actor = api_actor()
        result = summary.customer_summary(
            db, actor, _customer_id(db, args.customer), args.view, first=first, last=last
        )
    to_stdout = args.output in (None, "-")
    if args.format == "json":
        document = {
            "customer": result.customer_code,
            "customer_name": result.customer_name,
            "currency": result.currency,
            "view": result.view.value,
            "rolled_up_at": result.rolled_up_at,
            "generated_at": result.generated_at,
            "rows": [_summary_json_row(row) for row in result.rows],
        }
        if to_stdout:
            print_json(document)
            return EXIT_OK
        path = _path_argument(args.output)
        text = json.dumps(document, default=_json_default, ensure_ascii=False, indent=2)
        try:
            _write_atomically(path, text + "\n")
        except OSError as error:
            raise CommandError(f"cannot write {sanitize(path)}: {error.strerror}") from error
        _out(f"wrote {len(result.rows)} {result.view.value} rows to {sanitize(path)}")
        return EXIT_OK
    if args.format == "csv":
        types = {"period_start": ColumnType.TIMESTAMP, "period": ColumnType.TEXT}
        columns = [Column(key, key, types.get(key, ColumnType.DECIMAL)) for key in SUMMARY_FIELDS]
        batches = [[(row.period_start, tuple(row.values().values())) for row in result.rows]]
        if to_stdout:
            _write_csv_to_stdout(columns, batches)
            return EXIT_OK
        path = _path_argument(args.output)
        try:
            count = write_csv(path, columns, batches)
        except ExportError as error:
            raise CommandError(str(error)) from error
        _out(f"wrote {count} {result.view.value} rows to {sanitize(path)}")
        return EXIT_OK
    rolled = _when(result.rolled_up_at, "never")
    _out(
        f"{sanitize(result.customer_name)} ({sanitize(result.customer_code or '')}), "
        f"{result.view.value}, {result.currency}; rolled up {rolled} UTC; * = partial period"
    )
    dash = "—"

    def shown(value: Any, suffix: str = "") -> str:
        return dash if value is None else f"{value}{suffix}"

    print_table(
        (
            "Period",
            "Attempts",
            "Connected",
            "ASR %",
            "ACD s",
            "Duration s",
            "Billed s",
            "Charge",
            "Cost",
            "Profit",
            "Profit %",
        ),
        [
            (
                row.label + (" *" if row.partial else ""),
                row.attempts,
                row.connected,
                shown(row.asr),
                shown(row.acd),
                row.duration,
                row.billed_duration,
                _money(row.charge),
                _money(row.cost),
                _money(row.profit),
                shown(row.profit_pct),
            )
            for row in result.rows
        ],
        right=tuple(range(1, 11)),
    )
    return EXIT_OK


# -- invoices ----------------------------------------------------------------------------------

INVOICE_CSV_FIELDS = (
    "number",
    "customer",
    "customer_name",
    "period_kind",
    "period",
    "period_start",
    "period_end",
    "issue_date",
    "due_date",
    "currency",
    "subtotal",
    "tax_percent",
    "tax",
    "total",
    "status",
    "created_by",
    "created_at",
)


def _invoice_json(record: Any, *, lines: bool = True) -> dict[str, Any]:
    """An invoice for a billing system: money as decimal strings, times in UTC."""
    data: dict[str, Any] = {
        "number": record.number,
        "customer": record.customer_code,
        "customer_name": record.customer_name,
        "customer_id": record.customer_id,
        "period_kind": record.period_kind,
        "period": record.period_label,
        "period_start": record.period_start,
        "period_end": record.period_end,
        "issue_date": record.issue_date,
        "due_date": record.due_date,
        "currency": record.currency,
        "subtotal": record.subtotal,
        "tax_percent": record.tax_percent,
        "tax": record.tax,
        "total": record.total,
        "status": record.status,
        "created_by": record.created_by,
        "created_at": record.created_at,
    }
    if lines:
        data["lines"] = [
            {
                "day": line.day,
                "attempts": line.attempts,
                "connected": line.connected,
                "billed_minutes": line.billed_minutes,
                "billed_duration": line.billed_duration,
                "charge": line.charge,
            }
            for line in record.lines
        ]
    return data


def _print_invoice_table(records: Sequence[Any]) -> None:
    print_table(
        ("Number", "Customer", "Period", "Kind", "Issued", "Due", "Total", "Cur", "Status"),
        [
            (
                record.number,
                record.customer_code or record.customer_name,
                record.period_label,
                record.period_kind,
                record.issue_date.isoformat(),
                record.due_date.isoformat(),
                _money(record.total),
                record.currency,
                record.status.value,
            )
            for record in records
        ],
        right=(6,),
    )


def cmd_invoices_auto(args: argparse.Namespace) -> int:
    from carriertui.store import invoices

    with opened(args) as db:
        customer_id = _customer_id(db, args.customer) if args.customer else None
        created = invoices.auto_generate(db, api_actor(), customer_id=customer_id)
    if not created:
        _out("no invoices generated: every closed period is invoiced")
        return EXIT_OK
    _out(f"generated {len(created)} invoice{'s' if len(created) != 1 else ''}")
    _print_invoice_table(created)
    return EXIT_OK


def cmd_invoices_generate(args: argparse.Namespace) -> int:
    from carriertui.store import invoices
    from carriertui.store.periods import period_start

    day = _parse_day(args.date, "--date")
    kind = invoices.invoice_kind(args.period)
    with opened(args) as db:
        customer_id = _customer_id(db, args.customer)
        created = invoices.generate_invoices(
            db, api_actor(), customer_id, kind, [period_start(kind, day)], comment=args.comment
        )
    _out(f"generated {created[0].number}")
    _print_invoice_table(created)
    return EXIT_OK


def cmd_invoices_list(args: argparse.Namespace) -> int:
    from carriertui.grid.model import Column, ColumnType
    from carriertui.store import invoices

    since = _parse_day(args.since, "--since") if args.since else None
    with opened(args) as db:
        customer_id = _customer_id(db, args.customer) if args.customer else None
        records = invoices.list_invoices(db, api_actor(), customer_id=customer_id, since=since)
    if args.format == "json":
        print_json([_invoice_json(record) for record in records])
    elif args.format == "csv":
        types = {
            "period_start": ColumnType.TIMESTAMP,
            "period_end": ColumnType.TIMESTAMP,
            "created_at": ColumnType.TIMESTAMP,
        }
        columns = [Column(key, key, types.get(key, ColumnType.TEXT)) for key in INVOICE_CSV_FIELDS]
        rows = []
        for record in records:
            data = _invoice_json(record, lines=False)
            data["status"] = record.status.value
            rows.append((record.id, tuple(data[key] for key in INVOICE_CSV_FIELDS)))
        _write_csv_to_stdout(columns, [rows])
    else:
        _print_invoice_table(records)
    return EXIT_OK


def cmd_invoices_show(args: argparse.Namespace) -> int:
    from carriertui.store import invoices

    with opened(args) as db:
        record = invoices.get_invoice(db, api_actor(), args.number)
    if args.format == "json":
        print_json(_invoice_json(record))
        return EXIT_OK
    customer = record.customer_name + (f" ({record.customer_code})" if record.customer_code else "")
    details = (
        ("Invoice", record.number),
        ("Customer", customer),
        ("Period", f"{record.period_kind} {record.period_label}"),
        ("From (UTC)", iso_utc(record.period_start)),
        ("To (UTC)", iso_utc(record.period_end)),
        ("Issued", record.issue_date.isoformat()),
        ("Due", record.due_date.isoformat()),
        ("Status", record.status.value),
        ("Created by", record.created_by),
    )
    for label, value in details:
        _out(f"{label + ':':<12} {sanitize(value)}")
    _out()
    print_table(
        ("Day", "Attempts", "Connected", "Billed min", "Charge"),
        [
            (
                line.day.isoformat(),
                line.attempts,
                line.connected,
                f"{line.billed_minutes:f}",
                _money(line.charge),
            )
            for line in record.lines
        ],
        right=(1, 2, 3, 4),
    )
    _out()
    _out(f"{'Subtotal:':<12} {_money(record.subtotal)} {record.currency}")
    _out(f"{'Tax:':<12} {_money(record.tax)} {record.currency} ({_money(record.tax_percent)} %)")
    _out(f"{'Total:':<12} {_money(record.total)} {record.currency}")
    return EXIT_OK


def cmd_invoices_mark_paid(args: argparse.Namespace) -> int:
    from carriertui.store import invoices
    from carriertui.store.models import InvoiceStatus

    with opened(args) as db:
        actor = api_actor()
        record = invoices.get_invoice(db, actor, args.number)
        if record.status is InvoiceStatus.PAID:
            _out(f"{record.number} is paid already")
            return EXIT_OK
        invoices.set_status(db, actor, record.id, InvoiceStatus.PAID, comment=args.comment)
    _out(f"{record.number} marked Paid")
    return EXIT_OK


# -- contacts, mail, delayed changes ------------------------------------------------------------


def _contact_row(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "customer": record.customer_name,
        "name": record.name,
        "email": record.email,
        "phone": record.phone,
        "mobile": record.mobile,
        "contact_type": record.contact_type.value,
        "email_verified": record.email_verified,
        "mobile_verified": record.mobile_verified,
        "ip_whitelist": list(record.ip_whitelist),
        "last_login_at": record.last_login_at,
    }


def cmd_contacts_list(args: argparse.Namespace) -> int:
    from carriertui.store import contacts, customers

    with opened(args) as db:
        actor = api_actor()
        customer_id = None
        if args.customer:
            customer_id = customers.find_customer(db, actor, args.customer).id
        records = contacts.list_contacts(db, actor, customer_id=customer_id)
    if args.format == "json":
        print_json([_contact_row(record) for record in records])
        return EXIT_OK
    print_table(
        ("Customer", "Name", "Email", "Phone", "Mobile", "Type", "Verified", "Last login (UTC)"),
        [
            (
                r.customer_name,
                r.name,
                r.email,
                r.phone or "",
                r.mobile or "",
                r.contact_type.value,
                "/".join(
                    part
                    for part, on in (("email", r.email_verified), ("mobile", r.mobile_verified))
                    if on
                )
                or "-",
                _when(r.last_login_at, "never"),
            )
            for r in records
        ],
    )
    return EXIT_OK


def cmd_contacts_add(args: argparse.Namespace) -> int:
    from carriertui.store import contacts, customers

    values = {"name": args.name, "email": args.email}
    for field in ("phone", "mobile"):
        if getattr(args, field):
            values[field] = getattr(args, field)
    if args.type:
        values["contact_type"] = args.type
    with opened(args) as db:
        actor = api_actor()
        customer = customers.find_customer(db, actor, args.customer)
        record = contacts.create_contact(db, actor, customer.id, values)
    _out(
        f"created contact {record.id}: {sanitize(record.name)} <{sanitize(record.email)}> "
        f"for {sanitize(customer.name)}; a password email is queued "
        "('carriertui mail send' delivers it)"
    )
    return EXIT_OK


def cmd_contacts_reset_password(args: argparse.Namespace) -> int:
    from carriertui.store import contacts

    with opened(args) as db:
        actor = api_actor()
        record = contacts.find_contact(db, actor, args.email)
        contacts.change_password(db, actor, record.id)
    _out(
        f"a new password for {sanitize(record.email)} will be generated and emailed when the "
        "outbox is sent ('carriertui mail send')"
    )
    return EXIT_OK


def mail_settings(url: str) -> Any:
    from carriertui.store.mail import MailSettings

    return MailSettings.from_config(locations.mail_config(url))


def cmd_mail_send(args: argparse.Namespace) -> int:
    from carriertui.store import mail
    from carriertui.store.context import client_ip

    url = database_url(args)
    settings = mail_settings(url)
    with opened(args, url) as db:
        report = mail.flush_outbox(
            db, settings.transport_object(), sender=settings.sender, ip=client_ip()
        )
    _out(f"mail via {sanitize(settings.describe())}: {report}")
    for error in dict.fromkeys(report.errors):
        print(f"warning: {sanitize(error)}", file=sys.stderr)
    return EXIT_OK if not report.failed else EXIT_ERROR


def cmd_mail_list(args: argparse.Namespace) -> int:
    from carriertui.store import mail

    with opened(args) as db:
        records = mail.list_messages(db, api_actor())
    rows = [
        {
            "id": r.id,
            "to": r.to_address,
            "subject": r.subject,
            "status": r.status.value,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "queued_at": r.created_at,
            "sent_at": r.sent_at,
        }
        for r in records
    ]
    if args.format == "json":
        print_json(rows)
        return EXIT_OK
    print_table(
        ("Id", "To", "Subject", "Status", "Tries", "Queued (UTC)", "Last error"),
        [
            (
                r["id"],
                r["to"],
                r["subject"],
                r["status"],
                r["attempts"],
                _when(r["queued_at"]),
                r["last_error"] or "",
            )
            for r in rows
        ],
        right=(0, 4),
    )
    return EXIT_OK


def cmd_pending_run(args: argparse.Namespace) -> int:
    from carriertui.store import pending

    with opened(args) as db:
        report = pending.run_due(db)
    for line in report.messages:
        _out(sanitize(line))
    _out(f"delayed changes: {report}")
    return EXIT_OK


def cmd_pending_list(args: argparse.Namespace) -> int:
    from carriertui.store import pending

    with opened(args) as db:
        records = pending.list_changes(db, api_actor())
    if args.format == "json":
        print_json(
            [
                {
                    "id": r.id,
                    "due_at": r.due_at,
                    "status": r.status.value,
                    "change": r.description,
                    "values": r.changes,
                    "scheduled_by": r.operator,
                    "result": r.result,
                }
                for r in records
            ]
        )
        return EXIT_OK
    print_table(
        ("Id", "Due (UTC)", "Status", "Change", "Scheduled by", "Result"),
        [
            (r.id, _when(r.due_at), r.status.value, r.description, r.operator, r.result or "")
            for r in records
        ],
        right=(0,),
    )
    return EXIT_OK


def cmd_config_path(args: argparse.Namespace) -> int:
    _out(sanitize(str(locations.config_path())))
    return EXIT_OK


def demo_url() -> str:
    return f"sqlite:///{locations.demo_db_path()}"


def cmd_demo(args: argparse.Namespace) -> int:
    url = demo_url()
    if args.print_db:
        _out(sanitize(url))
        return EXIT_OK
    if not args.build_only:
        from carriertui.terminal import refuse_without_terminal

        refused = refuse_without_terminal()  # before a 10-20 s build nobody can use
        if refused is not None:
            return refused
    from carriertui.store.demo import DEMO_OPERATOR

    if args.reset or not locations.demo_db_path().exists():
        from carriertui.store.demo import build_demo

        # The first build takes a while (about 300,000 CDRs, roll-ups, invoices): say so.
        print(
            "building the demo database (customers, contacts, numbers, 90 days of CDRs, "
            "invoices); this takes 10-20 seconds once",
            file=sys.stderr,
            flush=True,
        )
        build_demo(url, reset=args.reset).dispose()
        if args.build_only:
            _out(f"demo database built: {sanitize(url)}")
            return EXIT_OK
    elif args.build_only:
        _out(f"demo database exists: {sanitize(url)} (use --reset to rebuild it)")
        return EXIT_OK
    else:
        _refuse_old_demo(url)
    from carriertui.app import run

    return run(url, demo=True, auto_login=DEMO_OPERATOR)


def _refuse_old_demo(url: str) -> None:
    """A demo database left by an older carriertui: say how to rebuild it (it holds nothing
    but the demo) or keep it, instead of opening a login screen that refuses it."""
    from carriertui.store.db import SCHEMA_VERSION, Database

    database = Database(url)
    try:
        version = database.schema_version()
    finally:
        database.dispose()
    if version != SCHEMA_VERSION:
        raise CommandError(
            f"the demo database is at schema {version}, this carriertui needs {SCHEMA_VERSION}: "
            f"'carriertui demo --reset' rebuilds it, or 'carriertui init --db {url}' upgrades it",
            EXIT_USAGE,
        )


# -- parser ------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        if message.endswith("expected one argument"):
            # `--name -x`: argparse takes a value that starts with "-" for an option.
            message += " (write a value that begins with '-' as --option=-value)"
        self.exit(EXIT_USAGE, f"error: {sanitize(message)}\n")


def _add_db_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="database: sqlite:///PATH, postgresql://..., or a file path "
        "(default: $CARRIERTUI_DB, then [database] url in the config, then the local SQLite file)",
    )
    # For scripts and tests: how long to wait for another process's write lock (seconds).
    parser.add_argument("--busy-timeout", type=str, default=default, help=argparse.SUPPRESS)


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")


def _password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from one line of standard input instead of prompting twice",
    )


def build_parser() -> argparse.ArgumentParser:
    # Subcommands accept --db too (carriertui customers list --db X); SUPPRESS keeps a global --db.
    common = argparse.ArgumentParser(add_help=False)
    _add_db_options(common, default=argparse.SUPPRESS)

    parser = _Parser(
        prog=PROG,
        description="A keyboard-first terminal tool for a VoIP carrier's NOC. "
        "Without a command it opens the TUI.",
        epilog="Run 'carriertui COMMAND --help' for a command's options. A value that "
        "begins with '-' is written with '=': --name=-Dash Telecom.",
    )
    _add_db_options(parser, default=None)
    parser.set_defaults(handler=cmd_tui)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(
        group: Any, name: str, help_text: str, handler: Callable[[argparse.Namespace], int] | None
    ) -> argparse.ArgumentParser:
        sub = group.add_parser(
            name, help=help_text, description=help_text, parents=[common], formatter_class=_fmt
        )
        if handler is not None:
            sub.set_defaults(handler=handler)
        return sub

    def group_of(sub: argparse.ArgumentParser) -> Any:
        sub.set_defaults(handler=lambda _args, sub=sub: _missing_subcommand(sub))
        return sub.add_subparsers(title="commands", metavar="COMMAND")

    for name in ("init", "upgrade"):
        sub = command(
            commands,
            name,
            "create the database schema, or upgrade an older one (says what it will do, "
            "asks, and takes a backup first)",
            cmd_init,
        )
        sub.add_argument("--yes", action="store_true", help="upgrade without asking (for scripts)")
        sub.add_argument(
            "--backup-to",
            metavar="PATH",
            help="PostgreSQL: run pg_dump into PATH before upgrading "
            "(SQLite is always backed up beside its file)",
        )

    operator = group_of(command(commands, "operator", "manage operator accounts", None))
    sub = command(operator, "add", "create an operator (asks for the password)", cmd_operator_add)
    sub.add_argument("name", help="login name")
    sub.add_argument("--role", choices=ROLES, required=True, help="what the operator may do")
    _password_option(sub)
    sub = command(operator, "list", "list operators", cmd_operator_list)
    _format_option(sub)
    sub = command(operator, "passwd", "set an operator's password", cmd_operator_passwd)
    sub.add_argument("name", help="login name")
    _password_option(sub)
    sub = command(operator, "unlock", "unlock an operator after failed logins", cmd_operator_unlock)
    sub.add_argument("name", help="login name")
    sub = command(operator, "role", "give an operator another role", cmd_operator_role)
    sub.add_argument("name", help="login name")
    sub.add_argument("role", choices=ROLES, help="what the operator may do from now on")
    sub = command(
        operator,
        "disable",
        "disable an account (no login; the delayed changes it scheduled are not applied)",
        cmd_operator_disable,
    )
    sub.add_argument("name", help="login name")
    sub = command(operator, "enable", "enable a disabled account again", cmd_operator_enable)
    sub.add_argument("name", help="login name")

    customers = group_of(command(commands, "customers", "list, show and create customers", None))
    sub = command(customers, "list", "list customers by name", cmd_customers_list)
    sub.add_argument("--search", metavar="TEXT", help="match name, account code or status")
    _format_option(sub)
    sub = command(customers, "show", "show one customer's details", cmd_customers_show)
    sub.add_argument("customer", help="account code, exact name, or id")
    _format_option(sub)
    sub = command(customers, "add", "create a customer", cmd_customers_add)
    sub.add_argument("--name", required=True, help="company name (unique)")
    sub.add_argument("--code", help="account code (unique): letters, digits and . _ -")
    sub.add_argument("--currency", help="ISO 4217 code, fixed once created (default USD)")
    sub.add_argument("--status", help="Active (default), Inactive, Penalty or 'Pending Approval'")
    sub.add_argument("--tax", metavar="PERCENT", help="tax percent, 0-100")
    sub.add_argument("--balance", metavar="AMOUNT", help="opening balance (may be negative)")
    sub.add_argument("--debit-limit", metavar="AMOUNT", help="how far below zero it may go")
    sub.add_argument("--channels", metavar="N", help="concurrent call limit")
    sub.add_argument("--invoice-schedule", help="none (default), daily, weekly or monthly")
    sub.add_argument("--invoice-due-days", metavar="DAYS", help="days until an invoice is due")

    opts = group_of(command(commands, "options", "show and change account options", None))
    sub = command(opts, "show", "show the account options", cmd_options_show)
    _format_option(sub)
    sub = command(opts, "set", "set an option ('unset' clears it)", cmd_options_set)
    sub.add_argument("key", help="option key, e.g. number_range_start")
    sub.add_argument("value", help="new value, or 'unset'")

    blocks = group_of(
        command(commands, "numbers", "internal number blocks: allocate, release, list", None)
    )
    sub = command(
        blocks, "allocate", "assign the next free number block to a customer", cmd_numbers_allocate
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub = command(
        blocks,
        "release",
        "give a customer's block back (refused while any of its numbers is in use)",
        cmd_numbers_release,
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub.add_argument("block", type=_block_index, help="the block number, as 'numbers list' shows")
    sub = command(blocks, "list", "number blocks with used and free counts", cmd_numbers_list)
    sub.add_argument("--customer", help="only this customer's blocks: account code, name or id")
    _format_option(sub)

    audit_log = group_of(command(commands, "audit", "export and verify the audit log", None))
    sub = command(
        audit_log, "export", "export audit entries, oldest first, as CSV or JSON", cmd_audit_export
    )
    sub.add_argument(
        "--customer", metavar="CUSTOMER", help="only this customer's entries: code, name or id"
    )
    sub.add_argument(
        "--since", metavar="T", help="entries at or after T: ISO date or date-time, UTC"
    )
    sub.add_argument(
        "--until", metavar="T", help="entries up to T, inclusive (a date: its whole day), UTC"
    )
    sub.add_argument("--format", choices=("csv", "json"), default="csv", help="output format")
    sub.add_argument(
        "-o", "--output", metavar="PATH", help="write to PATH instead of standard output"
    )
    command(
        audit_log,
        "verify",
        "check the audit log's HMAC chain and head; exit 1 naming the first entry that fails",
        cmd_audit_verify,
    )

    contacts = group_of(
        command(commands, "contacts", "list and add contacts, reset passwords", None)
    )
    sub = command(contacts, "list", "list contacts by name", cmd_contacts_list)
    sub.add_argument(
        "--customer", metavar="CUSTOMER", help="only this customer's: code, name or id"
    )
    _format_option(sub)
    sub = command(
        contacts, "add", "add a contact; a password is generated and emailed", cmd_contacts_add
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub.add_argument("--name", required=True, help="the contact's real name")
    sub.add_argument("--email", required=True, help="email: the contact's portal login (unique)")
    sub.add_argument("--phone", help="phone number with country code, e.g. +44 20 7946 0958")
    sub.add_argument("--mobile", help="mobile number with country code")
    sub.add_argument("--type", help="Billing, Technical, NOC, Sales or Other (default)")
    sub = command(
        contacts,
        "reset-password",
        "generate a new password and email it to the contact",
        cmd_contacts_reset_password,
    )
    sub.add_argument("email", help="the contact's email (login)")

    mail_group = group_of(command(commands, "mail", "the outbox of outgoing mail", None))
    command(mail_group, "send", "deliver due messages (SMTP or Maildir, see [mail])", cmd_mail_send)
    sub = command(mail_group, "list", "list the outbox", cmd_mail_list)
    _format_option(sub)

    pending_group = group_of(command(commands, "pending", "delayed changes (Delay and Save)", None))
    command(pending_group, "run", "apply the delayed changes that are due", cmd_pending_run)
    sub = command(pending_group, "list", "list delayed changes (the Delay Log)", cmd_pending_list)
    _format_option(sub)

    cdr_group = group_of(
        command(commands, "cdr", "import CDRs from CSV; export a CDR report", None)
    )
    sub = command(
        cdr_group,
        "import",
        "import CDRs from a CSV file (all or nothing unless --skip-bad); see README for columns",
        cmd_cdr_import,
    )
    sub.add_argument("file", metavar="FILE.csv", help="CSV with a header row of CDR columns")
    sub.add_argument(
        "--skip-bad",
        action="store_true",
        help="import the good rows; write the bad ones to a reject file",
    )
    sub.add_argument(
        "--rejects",
        metavar="PATH",
        help="the reject file (with --skip-bad; default FILE.rejects.csv next to FILE)",
    )
    sub = command(
        cdr_group,
        "export",
        "one customer's CDRs of the day, ISO week or month containing DATE, as CSV (UTC)",
        cmd_cdr_export,
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub.add_argument("--period", required=True, choices=("daily", "weekly", "monthly"))
    sub.add_argument("--date", required=True, metavar="DATE", help="a day in the period (UTC)")
    sub.add_argument(
        "-o", "--output", metavar="PATH", help="write to PATH (a file or a folder), not stdout"
    )

    sub = command(
        commands,
        "rollup",
        "update the hourly roll-ups from CDRs imported since the last run (for cron, hourly)",
        cmd_rollup,
    )
    sub.add_argument("--rebuild", action="store_true", help="recompute every hour from all CDRs")

    sub = command(
        commands, "summary", "a customer's call summary (as the Summary tab shows)", cmd_summary
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub.add_argument("--view", required=True, choices=("24h", "daily", "weekly", "monthly"))
    sub.add_argument("--from", dest="date_from", metavar="DATE", help="first day (UTC)")
    sub.add_argument("--to", dest="date_to", metavar="DATE", help="last day, inclusive (UTC)")
    sub.add_argument("--format", choices=("table", "json", "csv"), default="table")
    sub.add_argument("-o", "--output", metavar="PATH", help="write to PATH, not stdout")

    invoice_group = group_of(
        command(commands, "invoices", "generate, list, show and mark invoices paid", None)
    )
    sub = command(
        invoice_group,
        "auto",
        "create the missing invoices of every closed period for customers with an invoice "
        "schedule (for cron)",
        cmd_invoices_auto,
    )
    sub.add_argument("--customer", help="only this customer: account code, exact name, or id")
    sub = command(
        invoice_group,
        "generate",
        "invoice one closed period: the day, ISO week or month containing DATE (UTC)",
        cmd_invoices_generate,
    )
    sub.add_argument("--customer", required=True, help="account code, exact name, or id")
    sub.add_argument("--period", required=True, choices=("daily", "weekly", "monthly"))
    sub.add_argument("--date", required=True, metavar="DATE", help="a day in the period (UTC)")
    sub.add_argument("--comment", help="a reason, written into the audit log")
    sub = command(invoice_group, "list", "list invoices, oldest number first", cmd_invoices_list)
    sub.add_argument("--customer", help="only this customer's: account code, exact name, or id")
    sub.add_argument("--since", metavar="DATE", help="only invoices issued on or after DATE")
    sub.add_argument("--format", choices=("table", "json", "csv"), default="table")
    sub = command(invoice_group, "show", "one invoice with its daily lines", cmd_invoices_show)
    sub.add_argument("number", help="the invoice number, e.g. INV-000001")
    _format_option(sub)
    sub = command(invoice_group, "mark-paid", "mark an invoice Paid", cmd_invoices_mark_paid)
    sub.add_argument("number", help="the invoice number, e.g. INV-000001")
    sub.add_argument("--comment", help="a reason, written into the audit log")

    from carriertui import cli_rates  # the rates group (issue 14): carriertui/cli_rates.py

    cli_rates.register(commands)

    config = group_of(command(commands, "config", "configuration file", None))
    command(config, "path", "print the configuration file's path", cmd_config_path)

    command(
        commands,
        "portal",
        "open the customer portal: contacts log in with their email and password",
        cmd_portal,
    )

    sub = command(
        commands,
        "serve",
        "serve the TUI (or the portal) to browsers: needs the web extra, carriertui[web]",
        cmd_serve,
    )
    sub.add_argument("--portal", action="store_true", help="serve the customer portal")
    sub.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sub.add_argument("--port", type=int, default=8000, help="port to listen on")
    sub.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, behind a reverse proxy (https://portal.example.net)",
    )

    sub = command(
        commands, "demo", "open the TUI on a demo database (built on first use)", cmd_demo
    )
    sub.add_argument("--reset", action="store_true", help="rebuild the demo database from scratch")
    sub.add_argument("--build-only", action="store_true", help="build it, do not open the TUI")
    sub.add_argument("--print-db", action="store_true", help="print the demo database URL")
    return parser


def _fmt(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, max_help_position=32)


def _missing_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    print(f"error: {parser.prog}: choose a command (see --help)", file=sys.stderr)
    return EXIT_USAGE


# -- main --------------------------------------------------------------------------------------


def _error(message: str) -> None:
    text = str(message).strip().splitlines()
    print(f"error: {sanitize(text[0] if text else 'failed')}", file=sys.stderr)


def _database_error(error: Exception, args: argparse.Namespace) -> int | None:
    """A database error as one line naming its class (connection, busy, a limit of the input,
    internal), or None when ``error`` is not one."""
    from carriertui.store.errors import INTERNAL, database_failure, describe_database_failure

    failure = database_failure(error)
    if failure is None:
        return None
    kind, detail = failure
    try:
        from carriertui.store.db import redacted_url

        where = redacted_url(database_url(args))
    except Exception:
        where = "the database"
    log_hint = ""
    if kind == INTERNAL:
        from carriertui.logfile import log_unexpected

        log_hint = log_unexpected("database error", error)
    _error(describe_database_failure(kind, detail, where, log_hint))
    return EXIT_ERROR


def _stdout_to_devnull() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush of what is
    still buffered does not fail on the closed pipe again ("Exception ignored ... BrokenPipe")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (an in-process caller's capture)
        pass
    finally:
        os.close(devnull)


def _undecodable_argument(argv: Sequence[str], args: argparse.Namespace) -> str | None:
    """How the operator wrote the first text argument that was not valid UTF-8 (Python decodes
    such bytes to lone surrogates, which no database driver or terminal accepts). File paths are
    exempt: parsed to ``Path``, they are not text here, and Python opens such names as they are."""

    def undecodable(value: object) -> bool:
        if isinstance(value, str):
            return any("\ud800" <= char <= "\udfff" for char in value)
        if isinstance(value, list | tuple):
            return any(undecodable(item) for item in value)
        return False

    for dest, value in vars(args).items():
        if not undecodable(value):
            continue
        for index, token in enumerate(argv):
            if token.startswith("--") and "=" in token and undecodable(token):
                return token.split("=", 1)[0]
            if undecodable(token):
                before = argv[index - 1] if index else ""
                return before if before.startswith("-") else f"the argument {dest.upper()}"
        return dest
    return None


_UI_COMMANDS = (cmd_tui, cmd_portal, cmd_demo)


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status (EXIT_BROKEN_PIPE when the reader left early)."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # now, while a closed pipe can still be answered quietly
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    return code


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error already printed by argparse
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    bad = _undecodable_argument(sys.argv[1:] if argv is None else argv, args)
    if bad is not None:
        _error(f"{bad}: not valid UTF-8 text; nothing was changed")
        return EXIT_USAGE
    if args.handler not in _UI_COMMANDS:
        from carriertui import logfile

        # Warnings and errors of every command reach the log; the UIs open it once they know
        # they have a terminal (refused, they leave no file behind).
        logfile.configure()

    from carriertui.store.errors import StoreError, ValidationError

    try:
        return args.handler(args)
    except BrokenPipeError:
        raise  # not an error of the command's: main() exits quietly
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_ERROR
    except CommandError as error:
        _error(str(error))
        return error.code
    except ValidationError as error:
        _error(f"{error.field}: {error.message}")
        return EXIT_USAGE
    except (StoreError, locations.ConfigError) as error:
        _error(str(error))
        return EXIT_ERROR
    except OSError as error:
        _error(str(error))
        return EXIT_ERROR
    except Exception as error:
        code = _database_error(error, args)
        if code is None:
            # A defect: one line for the operator, the traceback in the log.
            from carriertui.logfile import log_unexpected

            where = log_unexpected("unexpected error", error)
            _error(f"internal error: {type(error).__name__}: {error} (details in {where})")
            return EXIT_ERROR
        return code


if __name__ == "__main__":
    raise SystemExit(main())
