"""Customers' match rules for switch CDRs (feeds/matching.py, store/match_rules.py, `carriertui
feeds match ...`): a record without a known account code is the customer of its source IP,
tech prefix or SIP user; none, or two, is a reject with the reason; rules are validated,
unique and audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from cdr_helpers import add_customers, stored_cdrs

from carriertui.cli import main
from carriertui.feeds.common import FeedOptions
from carriertui.feeds.matching import MatchRules, RuleError, normal_value
from carriertui.store import match_rules
from carriertui.store.cdrs.importer import CdrImportError
from carriertui.store.db.database import open_database
from carriertui.store.db.migrations import SCHEMA_VERSION
from carriertui.store.errors import ValidationError
from carriertui.store.feeds import import_feed

RULES = MatchRules.build(
    ["ACME", "BETA", "GAMA"],
    [
        ("ACME", "source_ip", "192.0.2.0/24"),
        ("BETA", "tech_prefix", "4477#"),
        ("BETA", "account_code", "beta-old"),
        ("GAMA", "sip_user", "gama-trunk"),
        ("GAMA", "source_ip", "198.51.100.7/32"),
    ],
)


def test_the_account_code_decides_first() -> None:
    assert RULES.customer_of("BETA", ip="192.0.2.1") == ("BETA", "")
    assert RULES.customer_of("beta-old", number="49301") == ("BETA", "49301")


def test_rules_match_without_an_account_code() -> None:
    assert RULES.customer_of("", ip="192.0.2.77", number="4930") == ("ACME", "4930")
    assert RULES.customer_of("", ip="192.0.2.77:5060") == ("ACME", "")
    # the tech prefix is taken off the number to be rated
    assert RULES.customer_of("", number="4477#4930901") == ("BETA", "4930901")
    assert RULES.customer_of("", user="gama-trunk") == ("GAMA", "")


def test_no_match_or_two_matches_are_reasons() -> None:
    with pytest.raises(ValueError, match=r"no customer matches the record \(account code 'X'"):
        RULES.customer_of("X", ip="203.0.113.9", number="4930")
    with pytest.raises(ValueError, match=r"more than one customer: ACME .*, BETA .*tech prefix"):
        RULES.customer_of("", ip="192.0.2.1", number="4477#4930")
    only_codes = MatchRules.build(["ACME"], [])
    with pytest.raises(ValueError, match="no customer has the account code 'X'"):
        only_codes.customer_of("X")


def test_rule_values_are_checked() -> None:
    assert normal_value("source_ip", " 192.0.2.9/24 ") == "192.0.2.0/24"
    assert normal_value("source_ip", "2001:db8::1") == "2001:db8::1/128"
    for kind, value in [
        ("source_ip", "300.1.1.1"),
        ("tech_prefix", "12a"),
        ("sip_user", ""),
        ("sip_user", "a\x1bb"),
        ("colour", "red"),
    ]:
        with pytest.raises(RuleError):
            normal_value(kind, value)


def test_rules_are_stored_unique_and_audited(db, admin, audit_log) -> None:
    ids = add_customers(db, admin, "ACME", "BETA")
    before = audit_log.count()
    rule = match_rules.add_rule(db, admin, ids["ACME"], "source_ip", "192.0.2.5/24")
    assert (rule.customer, rule.kind, rule.value) == ("ACME", "source_ip", "192.0.2.0/24")
    entry = audit_log.only_new(before)
    assert entry.customer_id == ids["ACME"] and "192.0.2.0/24" in entry.message
    with pytest.raises(ValidationError, match="already names customer ACME"):
        match_rules.add_rule(db, admin, ids["BETA"], "source_ip", "192.0.2.0/24")
    with pytest.raises(ValidationError, match="is the account code of customer BETA"):
        match_rules.add_rule(db, admin, ids["ACME"], "account_code", "BETA")
    assert [str(r) for r in match_rules.list_rules(db, admin)] == [
        f"#{rule.id} ACME: source IP 192.0.2.0/24"
    ]
    match_rules.remove_rule(db, admin, rule.id)
    assert match_rules.list_rules(db, admin) == []
    assert "Removed match rule" in audit_log.rows()[-1].message


def test_an_import_names_customers_by_their_rules(db, admin, tmp_path: Path) -> None:
    ids = add_customers(db, admin, "ACME", "BETA")
    match_rules.add_rule(db, admin, ids["ACME"], "source_ip", "192.0.2.0/24")
    match_rules.add_rule(db, admin, ids["BETA"], "tech_prefix", "99")
    source = tmp_path / "cx.csv"
    source.write_text(
        "dt,callid,source_cli,dest_number,duration,customer_duration,sip_code,"
        "customer_charge,provider_charge,source_ip\n"
        "2026-03-01 09:00:00,m-1,4420,4930901,60,60,200,0.0100,0.0050,192.0.2.44\n"
        "2026-03-01 09:01:00,m-2,4420,994930902,30,30,200,0.0050,0.0020,203.0.113.1\n"
        "2026-03-01 09:02:00,m-3,4420,4930903,30,30,200,0.0050,0.0020,203.0.113.1\n",
        encoding="utf-8",
    )
    with pytest.raises(CdrImportError) as caught:
        import_feed(db, admin, source, "connexcs", FeedOptions())
    (bad,) = caught.value.errors
    assert bad.line == 4 and "no customer matches the record" in bad.reason
    report = import_feed(db, admin, source, "connexcs", FeedOptions(), skip_bad=True).report
    assert report.imported == 2
    stored = {c.call_id: (c.customer_id, c.dest_number) for c in stored_cdrs(db)}
    assert stored == {"m-1": (ids["ACME"], "4930901"), "m-2": (ids["BETA"], "4930902")}


def test_cli_match_add_list_remove(tmp_path: Path, admin, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    db = open_database(url)
    assert db.schema_version() == SCHEMA_VERSION
    add_customers(db, admin, "ACME")
    args = ["--db", url, "feeds", "match"]
    assert main([*args, "add", "--customer", "ACME", "--kind", "sip_user", "acme-trunk"]) == 0
    assert "added #1 ACME: SIP user acme-trunk" in capsys.readouterr().out
    assert main([*args, "add", "--customer", "ACME", "--kind", "source_ip", "nonsense"]) == 2
    assert "not an IP address or network" in capsys.readouterr().err
    assert main([*args, "list", "--format", "json"]) == 0
    assert '"value": "acme-trunk"' in capsys.readouterr().out
    assert main([*args, "remove", "1"]) == 0
    assert main([*args, "remove", "1"]) == 2
    assert "no match rule #1" in capsys.readouterr().err
    db.dispose()
