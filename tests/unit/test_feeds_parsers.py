"""The switch-format parsers (carriertui/feeds/): each fixture in feeds_fixtures/ (written from
the documented shapes) read into native rows, checked value by value against what the switch's
documentation says the record means; DST gaps and folds, leap seconds, detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from carriertui import feeds
from carriertui.feeds import asterisk, freeswitch_csv
from carriertui.feeds.common import (
    NATIVE_COLUMNS,
    FeedError,
    FeedOptions,
    LocalClock,
    zone_named,
)
from carriertui.feeds.detect import detect
from carriertui.feeds.groups import (
    Block,
    flattened,
)
from carriertui.store.cdrs import child

FIXTURES = Path(__file__).parent / "feeds_fixtures"
BERLIN = "Europe/Berlin"
KNOWN = frozenset({"ACME", "BETA"})


def options(**overrides) -> FeedOptions:
    values = {"zone": BERLIN, "customers": KNOWN}
    values.update(overrides)
    return FeedOptions(**values)


def read(name: str, fmt: str | None = None, **overrides) -> tuple[list, FeedOptions]:
    opts = options(**overrides)
    if fmt is None:
        fmt, _why = detect(FIXTURES / name, opts)
    return list(flattened(feeds.convert(FIXTURES / name, fmt, opts))), opts


def rows(items) -> dict[str, dict[str, str]]:
    return {
        item.row[0]: dict(zip(NATIVE_COLUMNS, item.row, strict=True))
        for item in items
        if item.row is not None
    }


def rejects(items) -> dict[int, str]:
    return {item.line: item.reason for item in items if item.row is None}


def test_native_columns_are_the_importers() -> None:
    assert NATIVE_COLUMNS == child.CSV_COLUMNS


# -- detection ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("connexcs_api.csv", "connexcs"),
        ("connexcs_display.csv", "connexcs"),
        ("freeswitch_example.csv", "freeswitch-csv"),
        ("freeswitch_default.csv", "freeswitch-csv"),
        ("asterisk_16.csv", "asterisk"),
        ("asterisk_18.csv", "asterisk"),
        ("asterisk_21.csv", "asterisk"),
        ("acc_kamailio.csv", "acc"),
        ("acc_opensips.csv", "acc"),
        ("json", "freeswitch-json"),
        ("json/a_4f6c2d10-2222-4333-8444-000000000001.cdr.json", "freeswitch-json"),
    ],
)
def test_auto_detection_names_each_format(name: str, expected: str) -> None:
    fmt, why = detect(FIXTURES / name, options())
    assert fmt == expected
    assert why


def test_detection_picks_the_freeswitch_template_it_saw() -> None:
    opts = options()
    assert detect(FIXTURES / "freeswitch_default.csv", opts)[0] == "freeswitch-csv"
    assert opts.template == freeswitch_csv.DEFAULT


def test_detection_refuses_what_it_cannot_tell(tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("1,2,3\n4,5,6\n", encoding="utf-8")
    with pytest.raises(FeedError, match=r"cannot tell the format of odd\.csv.*give --format"):
        detect(odd, options())
    native = tmp_path / "native.csv"
    native.write_text(",".join(NATIVE_COLUMNS) + "\n", encoding="utf-8")
    assert detect(native, options())[0] == "native"


# -- ConnexCS -------------------------------------------------------------------------------------


def test_connexcs_api_names_utc_and_decimal_durations() -> None:
    items, _ = read("connexcs_api.csv")
    got = rows(items)
    assert rejects(items) == {}
    first = got["cx-0001"]
    assert first["start_time"] == "2026-03-01T09:00:00Z"  # UTC as written
    assert first["duration"] == "61"  # 60.4 s rounded up
    assert (first["billed_duration"], first["charge"], first["cost"]) == ("66", "0.0121", "0.0090")
    assert got["cx-0002"]["duration"] == "1"  # 0.3 s: still connected
    assert got["cx-0002"]["pdd_ms"] == "901"  # 900.5 ms half-up
    assert got["cx-0003"]["source_ip"] == "198.51.100.7"  # the :5060 dropped
    assert got["cx-0003"]["sip_code"] == "486"
    last = got["cx-0004"]
    assert last["start_time"] == "2026-03-01T23:59:59.500000Z"
    assert (last["duration"], last["charge"], last["direction"]) == ("126", "0.0253", "inbound")
    assert last["customer"] == "BETA"


def test_connexcs_display_names_need_the_customer() -> None:
    with pytest.raises(FeedError, match="give --customer CODE"):
        read("connexcs_display.csv", "connexcs")
    items, _ = read("connexcs_display.csv", "connexcs", customer="ACME")
    got = rows(items)
    assert got["cxd-1"]["customer"] == "ACME"
    assert got["cxd-1"]["duration"] == "31"
    # no provider cost column: the row is rated from the cards, charge included
    assert (got["cxd-1"]["billed_duration"], got["cxd-1"]["charge"], got["cxd-1"]["cost"]) == (
        "",
        "",
        "",
    )
    assert got["cxd-2"]["sip_code"] == "503"
    assert got["cxd-2"]["release_reason"] == "Congestion"


def test_a_row_of_no_known_customer_is_a_reject(tmp_path: Path) -> None:
    items, _ = read("connexcs_api.csv", customers=frozenset({"ACME"}))
    assert rejects(items) == {
        4: "no customer has the account code 'BETA'",
        5: "no customer has the account code 'BETA'",
    }


# -- FreeSWITCH CSV -------------------------------------------------------------------------------


def test_freeswitch_example_template_in_local_time_with_dst_edges() -> None:
    items, _ = read("freeswitch_example.csv")
    got = rows(items)
    uuid = "3f1b8e52-0c1d-4a55-9b0e-00000000000"
    assert got[uuid + "1"]["start_time"] == "2026-03-01T09:00:00Z"  # CET, +01:00
    assert (got[uuid + "1"]["duration"], got[uuid + "1"]["sip_code"]) == ("60", "200")
    assert got[uuid + "1"]["billed_duration"] == got[uuid + "1"]["charge"] == ""  # to be rated
    assert (got[uuid + "2"]["duration"], got[uuid + "2"]["sip_code"]) == ("0", "486")
    # the last minute before the spring gap, still CET
    assert got[uuid + "3"]["start_time"] == "2026-03-29T00:59:50Z"
    bad = rejects(items)
    # 02:30 on 29 March never happened in Berlin
    assert "2026-03-29 02:30:00 does not exist in Europe/Berlin" in bad[4]
    # 02:59:30 happened twice on 25 October; ending at 02:00:30 60 s later fits only the first
    assert got[uuid + "5"]["start_time"] == "2026-10-25T00:59:30Z"
    # 02:10 to 02:11, both in the fold: either pass fits, so the rule (reject) decides
    assert "happened twice in Europe/Berlin" in bad[6] and "--ambiguous" in bad[6]
    # 01:59 (CEST, before the fold) is not ambiguous
    assert got[uuid + "7"]["start_time"] == "2026-10-24T23:59:00Z"
    assert set(bad) == {4, 6}


@pytest.mark.parametrize(("rule", "expected"), [("earlier", "00:10:00"), ("later", "01:10:00")])
def test_the_ambiguous_rule_takes_one_pass_of_the_fold(rule: str, expected: str) -> None:
    items, _ = read("freeswitch_example.csv", ambiguous=rule)
    got = rows(items)
    assert got["3f1b8e52-0c1d-4a55-9b0e-000000000006"]["start_time"] == f"2026-10-25T{expected}Z"


def test_freeswitch_default_template_has_a_space_before_the_account_code() -> None:
    items, _ = read("freeswitch_default.csv")
    got = rows(items)
    first = got["7c0d2e11-aaaa-4bbb-8ccc-000000000001"]
    assert first["customer"] == "ACME"
    assert first["start_time"] == "2026-07-01T10:00:00Z"  # CEST, +02:00
    assert got["7c0d2e11-aaaa-4bbb-8ccc-000000000002"]["sip_code"] == "480"  # NO_ANSWER


def test_freeswitch_template_from_the_switch_config_prefers_epoch_and_drops_b_legs() -> None:
    template = freeswitch_csv.template_from_config(FIXTURES / "cdr_csv.conf.xml")
    assert template[:3] == ("uuid", "direction", "accountcode")
    # no zone needed: the template carries ${start_epoch}
    items, opts = read("freeswitch_carrier.csv", "freeswitch-csv", template=template, zone=None)
    got = rows(items)
    # both at 02:30 local on the fold night: the epochs tell the passes apart
    assert got["9d8e7f60-1111-4222-8333-000000000001"]["start_time"] == "2026-10-25T00:30:00Z"
    assert got["9d8e7f60-1111-4222-8333-000000000003"]["start_time"] == "2026-10-25T01:30:00Z"
    assert got["9d8e7f60-1111-4222-8333-000000000001"]["pdd_ms"] == "850"
    assert got["9d8e7f60-1111-4222-8333-000000000001"]["source_ip"] == "192.0.2.20"
    assert got["9d8e7f60-1111-4222-8333-000000000003"]["sip_code"] == "487"
    assert "9d8e7f60-1111-4222-8333-000000000002" not in got  # the B-leg
    assert opts.tally.b_legs == 1


def test_template_text_and_names() -> None:
    text = '"${uuid}","${accountcode}", "${start_epoch}","x${a}${b}"'
    assert freeswitch_csv.template_columns(text) == ("uuid", "accountcode", "start_epoch", "")
    assert freeswitch_csv.parse_columns("uuid,${accountcode},start_epoch") == (
        "uuid",
        "accountcode",
        "start_epoch",
    )
    with pytest.raises(FeedError, match="no uuid"):
        freeswitch_csv.parse_columns("accountcode,start_epoch")


def test_local_times_without_a_zone_are_refused() -> None:
    with pytest.raises(FeedError, match="--tz"):
        read("freeswitch_example.csv", "freeswitch-csv", zone=None)
    with pytest.raises(FeedError, match="--tz"):
        read("asterisk_18.csv", "asterisk", zone=None)


# -- FreeSWITCH JSON ------------------------------------------------------------------------------


def test_freeswitch_json_directory_decodes_values_and_keeps_the_a_leg() -> None:
    items, opts = read("json", zone=None)
    got = rows(items)
    assert set(got) == {
        "4f6c2d10-2222-4333-8444-000000000001",
        "4f6c2d10-2222-4333-8444-000000000003",
    }
    first = got["4f6c2d10-2222-4333-8444-000000000001"]
    assert first["source_cli"] == "+442079460005"  # %2B decoded
    assert first["start_time"] == "2026-03-29T01:59:59Z"  # start_epoch, not the local stamp
    assert (first["duration"], first["sip_code"], first["pdd_ms"]) == ("93", "200", "1450")
    busy = got["4f6c2d10-2222-4333-8444-000000000003"]
    # no start_epoch: callflow created_time (microseconds)
    assert busy["start_time"] == "2026-03-29T02:01:40.500000Z"
    assert busy["sip_code"] == "486"  # USER_BUSY
    assert opts.tally.b_legs == 1
    assert {item.source for item in items} == {
        "a_4f6c2d10-2222-4333-8444-000000000001.cdr.json",
        "a_4f6c2d10-2222-4333-8444-000000000003.cdr.json",
    }


def test_freeswitch_json_bad_documents_are_rejects(tmp_path: Path) -> None:
    (tmp_path / "x.cdr.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "y.cdr.json").write_text('{"variables": {"accountcode": "ACME"}}', encoding="utf-8")
    items = list(flattened(feeds.convert(tmp_path, "freeswitch-json", options())))
    assert [(i.source, i.reason.split(":")[0]) for i in items] == [
        ("x.cdr.json", "not JSON"),
        ("y.cdr.json", "uuid is empty"),
    ]


# -- Asterisk -------------------------------------------------------------------------------------


def test_asterisk_18_columns_billsec_disposition_and_dst() -> None:
    items, _ = read("asterisk_18.csv")
    got = rows(items)
    answered = got["1772359200.1"]
    assert answered["start_time"] == "2026-03-01T09:00:00Z"
    assert answered["duration"] == "60"  # billsec, not duration (65, with ringing)
    assert (answered["sip_code"], answered["release_reason"]) == ("200", "Answered")
    assert answered["source_cli"] == "442079460001"
    assert got["1772359500.2"]["sip_code"] == "480"  # NO ANSWER, empty unquoted answer
    assert got["1772362800.3"]["sip_code"] == "486"
    assert got["1772364600.4"]["sip_code"] == "503"
    assert got["1792893570.5"]["start_time"] == "2026-10-25T00:59:30Z"  # fold, end resolves
    bad = rejects(items)
    assert "happened twice" in bad[6]
    assert "leap second" in bad[7] and "23:59:60" in bad[7]
    assert set(bad) == {6, 7}


def test_asterisk_21_columns_merge_forks_by_linkedid() -> None:
    items, opts = read("asterisk_21.csv")
    got = rows(items)
    fork = got["1782889200.10"]
    assert (fork["duration"], fork["sip_code"]) == ("120", "200")  # the answered leg speaks
    assert fork["start_time"] == "2026-07-01T07:00:00Z"
    assert opts.tally.merged == 1
    assert set(got) == {"1782889200.10", "1782889800.13"}
    assert rejects(items) == {4: "no customer has the account code 'GAMMA'"}


def test_asterisk_16_columns_derive_a_stable_call_id() -> None:
    first, _ = read("asterisk_16.csv")
    again, _ = read("asterisk_16.csv")
    (call_id,) = rows(first)
    assert call_id.startswith("ast-") and rows(again).keys() == {call_id}


def test_asterisk_layouts_by_column_count() -> None:
    base = ["x"] * 16
    assert asterisk.layout(base) == asterisk.BASE
    assert asterisk.layout([*base, "1772359200.1"])[-1] == "uniqueid"
    assert asterisk.layout([*base, "vip"])[-1] == "userfield"
    assert asterisk.layout([*base, "", "", ""])[-2] == "linkedid"
    assert asterisk.layout([*base, "1.1", "u", "", "1.1", "3"])[-2] == "linkedid"
    assert asterisk.layout(["x"] * 15) is None


def test_asterisk_usegmtime() -> None:
    items, _ = read("asterisk_18.csv", "asterisk", zone=None, utc=True)
    assert rows(items)["1772359200.1"]["start_time"] == "2026-03-01T10:00:00Z"


# -- acc ------------------------------------------------------------------------------------------


def test_kamailio_acc_cdrs_with_milliseconds() -> None:
    items, _ = read("acc_kamailio.csv")
    got = rows(items)
    first = got["a84b4c76e66710@pc33.example.com"]
    assert first["start_time"] == "2026-03-01T09:00:00.250000Z"
    assert first["duration"] == "61"  # 60.500 s rounded up
    assert first["source_ip"] == "192.0.2.10"
    assert got["b84b4c76e66711@pc33.example.com"]["duration"] == "1"  # 0.400 s
    assert "happened twice" in rejects(items)[4]


def test_opensips_acc_cdr_rows_semicolons_setuptime() -> None:
    items, _ = read("acc_opensips.csv")
    got = rows(items)
    call = got["os-1@10.0.0.1"]
    assert call["start_time"] == "2026-03-01T09:00:00Z"  # created: the INVITE
    assert (call["duration"], call["pdd_ms"]) == ("58", "3000")  # 57250 ms; setuptime 3 s
    busy = got["os-2@10.0.0.1"]
    assert (busy["duration"], busy["sip_code"], busy["release_reason"]) == ("0", "486", "Busy Here")


# -- the clock ------------------------------------------------------------------------------------


def test_clock_gap_fold_and_leap_second() -> None:
    clock = LocalClock(zone_named("America/New_York"))
    assert clock.utc("2026-03-08 01:59:59") == "2026-03-08T06:59:59Z"
    assert clock.utc("2026-03-08 03:00:00") == "2026-03-08T07:00:00Z"
    with pytest.raises(ValueError, match="does not exist"):
        clock.utc("2026-03-08 02:15:00")
    assert clock.candidates("2026-11-01 01:30:00") == [
        "2026-11-01T05:30:00Z",
        "2026-11-01T06:30:00Z",
    ]
    with pytest.raises(ValueError, match="leap second"):
        clock.utc("2016-12-31 23:59:60")
    with pytest.raises(ValueError, match="no such date"):
        clock.utc("2026-02-30 10:00:00")
    half = LocalClock(zone_named("Asia/Kolkata"))
    assert half.utc("2026-01-01 05:30:00.25") == "2026-01-01T00:00:00.250000Z"


def _master_line(index: int, linked: str, disposition: str, billsec: int) -> str:
    start = f"2026-07-01 {10 + index // 3600:02d}:{index // 60 % 60:02d}:{index % 60:02d}"
    answer = f'"{start}"' if billsec else ""
    return (
        f'"ACME","4420794{index:05d}","49309{index:07d}","ctx","""A"" <1>","SIP/a-{index}",'
        f'"SIP/b-{index}","Dial","x","{start}",{answer},"{start}",'
        f'{billsec + 5},{billsec},"{disposition}","BILLING","{linked}","","","{linked}",{index}'
    )


def test_the_column_path_gives_the_careful_paths_rows(tmp_path: Path, monkeypatch) -> None:
    """A big clean file goes a group at a time; forks inside a group and across two groups'
    edge (records 1000 and 1001) still merge; the result equals the record-by-record one."""
    lines = []
    for index in range(2500):
        linked = f"1782900000.{index}"
        if index in (500, 998):  # 998: its two rows are the last and the first of two groups
            lines.append(_master_line(index, linked, "NO ANSWER", 0))  # the fork's other leg
        lines.append(
            _master_line(index, linked, "ANSWERED" if index % 3 else "BUSY", index % 3 * 7)
        )
    source = tmp_path / "Master.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast_opts = options(customers=frozenset({"ACME"}))
    fast_items = list(feeds.convert(source, "asterisk", fast_opts))
    assert any(isinstance(item, Block) for item in fast_items)
    monkeypatch.setattr(asterisk, "_fast", lambda *args: (None, set()))
    careful_opts = options(customers=frozenset({"ACME"}))
    careful = list(flattened(feeds.convert(source, "asterisk", careful_opts)))
    fast = list(flattened(iter(fast_items)))
    assert sorted(fast) == sorted(careful)
    assert len(fast) == 2500 and fast_opts.tally.merged == careful_opts.tally.merged == 2
    merged = {item.row[0]: item.row for item in fast}
    assert merged["1782900000.998"][6] == "14" and merged["1782900000.998"][8] == "200"
    assert merged["1782900000.500"][6] == "14" and merged["1782900000.500"][8] == "200"


def _clean_lines(fmt: str, count: int) -> tuple[str, list[str]]:
    """A clean file of ``count`` calls in ``fmt`` (header, lines), every other call answered."""
    lines = []
    for i in range(count):
        talk = (i % 2) * (i % 97 + 1)
        local = f"2026-07-01 {10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
        if fmt == "connexcs":
            lines.append(
                f"{local},cx-{i},ACME,44207{i:06d},4930{i:07d},Germany,{talk}.{i % 10},"
                f"{talk + 1},{200 if talk else 486},Normal,{i % 900},0.{i % 10000:04d},0.0001,"
                f"outbound,192.0.2.{i % 250}"
            )
        elif fmt == "freeswitch-csv":
            end = local
            lines.append(
                f'"Caller {i}","44207{i:06d}","4930{i:07d}","default","{local}","","{end}",'
                f'"{talk + 3}","{talk}","{"NORMAL_CLEARING" if talk else "USER_BUSY"}",'
                f'"3f1b8e52-0c1d-4a55-9b0e-{i:012d}","","ACME","PCMA","PCMA"'
            )
        else:
            lines.append(
                f"{i},{local}.250,{local}.250,{talk}.500,{i}@acc,ACME,44207{i:06d},4930{i:07d},"
                f"192.0.2.{i % 250},{200 if talk else 487},{'OK' if talk else 'Cancelled'}"
            )
    header = {
        "connexcs": "dt,callid,customer_id,source_cli,dest_number,customer_card_dest_name,"
        "duration,customer_duration,sip_code,release_reason,pdd_in,customer_charge,"
        "provider_charge,direction,source_ip",
        "freeswitch-csv": "",
        "acc": "id,start_time,end_time,duration,callid,accountcode,src_user,dst_user,src_ip,"
        "sip_code,sip_reason",
    }[fmt]
    return header, lines


@pytest.mark.parametrize("fmt", ["connexcs", "freeswitch-csv", "acc"])
def test_column_paths_of_the_other_formats_match_their_careful_paths(
    fmt: str, tmp_path: Path, monkeypatch
) -> None:
    from carriertui.feeds import acc, connexcs
    from carriertui.feeds.freeswitch import ChannelRows

    header, lines = _clean_lines(fmt, 2500)
    source = tmp_path / "cdrs.csv"
    source.write_text("\n".join(([header] if header else []) + lines) + "\n", encoding="utf-8")
    fast_items = list(feeds.convert(source, fmt, options(customers=frozenset({"ACME"}))))
    assert sum(isinstance(item, Block) for item in fast_items) == 3  # every group whole
    monkeypatch.setattr(connexcs, "_fast", lambda *args: None)
    monkeypatch.setattr(acc, "_fast", lambda *args: None)
    monkeypatch.setattr(ChannelRows, "rows_of_columns", lambda *args: None)
    careful = list(flattened(feeds.convert(source, fmt, options(customers=frozenset({"ACME"})))))
    fast = list(flattened(iter(fast_items)))
    assert len(fast) == 2500 and all(item.row for item in fast)
    assert fast == careful


def _json_documents(folder: Path, count: int) -> None:
    """mod_json_cdr documents as the switch writes them (encode-values on), with B-legs."""
    import json

    folder.mkdir()
    for i in range(count):
        talk = 0 if i % 4 == 0 else 30 + i % 400
        uuid = f"4f6c2d10-2222-4333-8444-{i:012d}"
        variables = {
            "uuid": uuid,
            "accountcode": "ACME",
            "caller_id_number": f"%2B44207{i:06d}",
            "destination_number": f"4930{i:07d}",
            "start_stamp": "2026-07-01%2010%3A00%3A00",
            "start_epoch": str(1782900000 + i),
            "billsec": str(talk),
            "hangup_cause": "NORMAL_CLEARING" if talk else "USER_BUSY",
            "progress_mediamsec": str(i % 900),
            "network_addr": f"192.0.2.{i % 250}",
        }
        direction = "outbound" if i % 7 == 3 else "inbound"  # B-legs: left out
        if i < 1000:  # the first group by sip_term_status, the others by hangup_cause
            variables["sip_term_status"] = "200" if talk else "486"
        document = {"channel_data": {"direction": direction}, "variables": variables}
        (folder / f"a_{uuid}.cdr.json").write_text(json.dumps(document), encoding="utf-8")


def test_freeswitch_json_column_path_matches_its_careful_path(tmp_path: Path, monkeypatch) -> None:
    from carriertui.feeds import freeswitch_json

    _json_documents(tmp_path / "json", 2300)
    fast_opts = options(zone=None)
    fast_items = list(feeds.convert(tmp_path / "json", "freeswitch-json", fast_opts))
    assert sum(isinstance(item, Block) for item in fast_items) == 3  # every group whole
    monkeypatch.setattr(freeswitch_json, "_fast_group", lambda *args: None)
    careful_opts = options(zone=None)
    careful = list(flattened(feeds.convert(tmp_path / "json", "freeswitch-json", careful_opts)))
    fast = list(flattened(iter(fast_items)))
    assert len(fast) == sum(1 for i in range(2300) if i % 7 != 3)
    assert fast == careful and all(item.row for item in fast)
    assert fast_opts.tally.b_legs == careful_opts.tally.b_legs > 0
    assert fast[0].row[3] == "+44207000000"  # %2B decoded in the column


def test_freeswitch_json_group_with_an_odd_document_goes_document_by_document(
    tmp_path: Path,
) -> None:
    _json_documents(tmp_path / "json", 20)
    odd = tmp_path / "json" / "a_zz.cdr.json"
    odd.write_text('{"variables": {"uuid": "x", "billsec": 5}}', encoding="utf-8")  # a number
    items = list(feeds.convert(tmp_path / "json", "freeswitch-json", options(zone=None)))
    assert not any(isinstance(item, Block) for item in items)
    assert [item.reason.split(":")[0] for item in items if item.row is None] == [
        "no result"  # the careful path's reason for the odd document
    ]


@pytest.mark.parametrize("written", ["OUTBOUND", " outbound", "Outbound"])
def test_a_b_leg_however_its_direction_is_written_is_left_out_by_the_column_path(
    written: str, tmp_path: Path
) -> None:
    """The column path (a clean group) and the careful path agree on what a B-leg is: the
    careful path strips and lower-cases the direction; the column path used to look for the
    exact "outbound" only, and let such a leg through as a second call."""
    template = (
        "uuid",
        "direction",
        "accountcode",
        "start_epoch",
        "billsec",
        "hangup_cause",
        "destination_number",
    )
    lines = []
    for i in range(1200):
        direction = written if i == 7 else "inbound"
        talk = i % 50
        cause = "NORMAL_CLEARING" if talk else "USER_BUSY"
        lines.append(
            f'"9d8e7f60-1111-4222-8333-{i:012d}","{direction}","ACME","{1782900000 + i}",'
            f'"{talk}","{cause}","4930{i:07d}"'
        )
    source = tmp_path / "Master.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    opts = options(customers=frozenset({"ACME"}), template=template, zone=None)
    items = list(feeds.convert(source, "freeswitch-csv", opts))
    assert any(isinstance(item, Block) for item in items)  # the clean groups: column path
    got = rows(list(flattened(iter(items))))
    assert len(got) == 1199 and "9d8e7f60-1111-4222-8333-000000000007" not in got
    assert opts.tally.b_legs == 1
