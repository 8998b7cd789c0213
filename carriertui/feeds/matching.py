"""Who a switch's record belongs to: the customers' account codes and their match rules.

A record names its customer by its account code when the switch sets one. Beyond that a
customer can have rules (store/match_rules.py keeps them): another account code, a source IP
or CIDR (IP authentication), a tech prefix the customer dials before the number, a SIP user
(the caller's user part). The record's customer is the one its account code names; without
one, the one customer whose rules match; none, or two, is a reject with the reason. A customer
found by its tech prefix has the prefix taken off the dialled number (rating sees the number).

Pure: the standard library only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

KINDS = ("account_code", "source_ip", "tech_prefix", "sip_user")
LABELS = {
    "account_code": "account code",
    "source_ip": "source IP",
    "tech_prefix": "tech prefix",
    "sip_user": "SIP user",
}
MAX_VALUE = 64


class RuleError(ValueError):
    """A rule's value is not one of its kind."""


def normal_value(kind: str, value: str) -> str:
    """The rule's value in its stored form (a network as ``a.b.c.d/n``), or RuleError."""
    text = value.strip()
    if kind not in KINDS:
        raise RuleError(f"{kind!r} is not a kind of rule ({', '.join(KINDS)})")
    if not text:
        raise RuleError(f"the {LABELS[kind]} is empty")
    if len(text) > MAX_VALUE:
        raise RuleError(f"the {LABELS[kind]} is longer than {MAX_VALUE} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise RuleError(f"the {LABELS[kind]} contains a control character")
    if kind == "source_ip":
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise RuleError(f"not an IP address or network: {text!r}") from None
    if kind == "tech_prefix" and not all(char.isdigit() or char in "#*" for char in text):
        raise RuleError(f"a tech prefix is digits (and # or *): {text!r}")
    return text


@dataclass
class MatchRules:
    """Every customer's account code and rules, to look records up by."""

    codes: set[str] = field(default_factory=set)  # the customers' own account codes
    aliases: dict[str, str] = field(default_factory=dict)  # account_code rules: code -> customer
    networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = field(
        default_factory=list
    )
    prefixes: list[tuple[str, str]] = field(default_factory=list)  # longest first
    users: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, codes: Iterable[str], rules: Iterable[tuple[str, str, str]]) -> MatchRules:
        """From the account codes and (customer's account code, kind, value) of each rule."""
        made = cls(codes=set(codes))
        for customer, kind, value in rules:
            if kind == "account_code":
                made.aliases[value] = customer
            elif kind == "source_ip":
                made.networks.append((ipaddress.ip_network(value, strict=False), customer))
            elif kind == "tech_prefix":
                made.prefixes.append((value, customer))
            elif kind == "sip_user":
                made.users[value] = customer
        made.prefixes.sort(key=lambda item: -len(item[0]))
        return made

    @property
    def only_codes(self) -> bool:
        """No rule but account codes: a record's code alone says who it is."""
        return not (self.aliases or self.networks or self.prefixes or self.users)

    def customer_of(
        self, code: str, *, ip: str = "", number: str = "", user: str = ""
    ) -> tuple[str, str]:
        """(the customer's account code, the number to rate) or ValueError with the reason."""
        code = code.strip()
        if code:
            if code in self.codes:
                return code, number
            if code in self.aliases:
                return self.aliases[code], number
        found: dict[str, str] = {}  # customer -> what matched
        stripped: dict[str, str] = {}
        address = _address(ip)
        if address is not None:
            for network, customer in self.networks:
                if address.version == network.version and address in network:
                    found.setdefault(customer, f"source IP {network}")
        for prefix, customer in self.prefixes:
            if number.startswith(prefix) and len(number) > len(prefix) and customer not in found:
                found[customer] = f"tech prefix {prefix}"
                stripped[customer] = number[len(prefix) :]
        if user and user in self.users:
            found.setdefault(self.users[user], f"SIP user {user}")
        if len(found) == 1:
            customer = next(iter(found))
            return customer, stripped.get(customer, number)
        if found:
            both = ", ".join(f"{c} ({why})" for c, why in sorted(found.items()))
            raise ValueError(f"matches more than one customer: {both}")
        if self.only_codes:
            if code:
                raise ValueError(f"no customer has the account code {code!r}")
            raise ValueError("no account code in the record: cannot tell which customer it is")
        said = [f"account code {code!r}" if code else "no account code"]
        if ip.strip():
            said.append(f"source IP {ip.strip()}")
        if user:
            said.append(f"SIP user {user}")
        said.append(f"number {number}")
        raise ValueError("no customer matches the record (" + ", ".join(said) + ")")


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = text.strip()
    if not value:
        return None
    if value.count(":") == 1 and "." in value:
        value = value.split(":")[0]  # 192.0.2.1:5060
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None
