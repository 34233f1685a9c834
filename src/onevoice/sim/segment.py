"""From simulated rows to Segment Tracking API calls, with realistic identifiers.

Each customer has an ``anonymousId`` per browser and app install (several devices for
some), a ``userId`` once they have an account and log in, and an email and phone the bank
knows. Logging in on a device sends an ``identify`` (linking that device's anonymousId
to the userId); the CRM sends one with the full record; calls carry the caller's phone in
``context.identifiers``; emails and texts to prospects carry the address they went to.

Every id is derived from the seed, never from the clock or a random source: re-running a
world produces the same ``messageId`` s, so loading it twice stores it once.

>>> ids = Identities("s1")
>>> ids.user_id(42), ids.anonymous_id(42, 0) == ids.anonymous_id(42, 0)
('hb-s1-0000042', True)
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from onevoice.sim import catalog as cat
from onevoice.sim.rows import EventRows, concat, make_rows

if TYPE_CHECKING:
    from onevoice.sim.runner import World

GENERATOR_VERSION = "1"
FIRST = ("Ann", "Bob", "Chloe", "Dev", "Emeka", "Fatima", "Goran", "Hana", "Ivo", "Jun",
         "Kofi", "Lena", "Mateo", "Nadia", "Owen", "Priya", "Rosa", "Sami", "Tess",
         "Yusuf")  # fmt: skip
LAST = ("Smith", "Jones", "Patel", "Murphy", "Nowak", "Garcia", "Okafor", "Kim", "Rossi",
        "Walsh", "Khan", "Silva", "Evans", "Dubois", "Brown", "Ahmed")  # fmt: skip
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
)
APP = {"name": "Harbour Bank", "version": "5.2.0", "build": "5201"}


def _digest(text: str, size: int) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=size).digest()


def people_tag(seed: int, customers: int) -> str:
    """Names the population: same seed and size, same people."""
    return _digest(f"{GENERATOR_VERSION}:{seed}:{customers}", 3).hex()


def world_tag(seed: int, customers: int, days: int, policy: str) -> str:
    """Names the event stream: same seed, size, length and policy, same messageIds."""
    return _digest(f"{GENERATOR_VERSION}:{seed}:{customers}:{days}:{policy}", 5).hex()


class Identities:
    """The identifiers of one population's customers (derived, cached per device)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self._anonymous: dict[tuple[int, int], str] = {}
        self._offset = int(tag, 16) if all(c in "0123456789abcdef" for c in tag) else 0

    def user_id(self, customer: int) -> str:
        return f"hb-{self.tag}-{customer:07d}"

    def anonymous_id(self, customer: int, device: int) -> str:
        key = (customer, device)
        found = self._anonymous.get(key)
        if found is None:
            found = str(uuid.UUID(bytes=_digest(f"{self.tag}:{customer}:{device}", 16)))
            self._anonymous[key] = found
        return found

    def name(self, customer: int) -> tuple[str, str]:
        spread = customer * 7919 + self._offset
        return FIRST[spread % len(FIRST)], LAST[(spread // len(FIRST)) % len(LAST)]

    def email(self, customer: int) -> str:
        first, last = self.name(customer)
        return f"{first}.{last}.{self.tag}{customer}@example.com".lower()

    def phone(self, customer: int) -> str:
        return f"+447{(self._offset * 1009 + customer) % 1_000_000_000:09d}"

    def traits(self, customer: int, timezone: str, full: bool) -> dict[str, Any]:
        traits: dict[str, Any] = {"email": self.email(customer)}
        if full:
            first, last = self.name(customer)
            traits.update(firstName=first, lastName=last, timezone=timezone)
        return traits


def with_identifies(rows: EventRows, known: NDArray[np.bool_]) -> EventRows:
    """Add the identify calls: one per device at its first login, and one from the CRM at
    each customer's first logged-in event (``known`` says who ends up with an account)."""
    logged = np.flatnonzero(rows.login & known[rows.customer])
    logged = logged[np.argsort(rows.at[logged], kind="stable")]
    on_device = logged[rows.device[logged] >= 0]
    key = rows.customer[on_device].astype(np.int64) * 4 + rows.device[on_device]
    _, first_device = np.unique(key, return_index=True)
    device_rows = on_device[first_device]
    _, first_any = np.unique(rows.customer[logged], return_index=True)
    crm_rows = logged[first_any]
    return concat(
        [
            rows,
            make_rows(
                rows.customer[device_rows], rows.at[device_rows] - 1_000,
                rows.channel[device_rows], cat.IDENTIFY, device=rows.device[device_rows],
            ),
            make_rows(
                rows.customer[crm_rows], rows.at[crm_rows] - 2_000, cat.CH["other"],
                cat.IDENTIFY,
            ),
        ]
    )  # fmt: skip


def calls(world: World, *, chunk: int = 5_000) -> Iterator[list[dict[str, Any]]]:
    """The world's events as Segment calls, in time order, ``chunk`` at a time."""
    config = world.config
    ids = Identities(people_tag(config.seed, config.customers))
    tag = world_tag(config.seed, config.customers, config.days, world.policy)
    people, rows = world.people, world.rows
    for begin in range(0, len(rows), chunk):
        yield row_calls(
            ids, rows, people.timezone, people.has_phone, f"sim-{tag}-",
            range(begin, min(begin + chunk, len(rows))),
        )  # fmt: skip


def row_calls(
    ids: Identities,
    rows: EventRows,
    timezone: NDArray[np.int8] | NDArray[np.int64],
    has_phone: NDArray[np.bool_],
    prefix: str,
    part: range | None = None,
) -> list[dict[str, Any]]:
    """Segment calls of ``rows`` (those in ``part``), numbered ``prefix`` + row index."""
    part = part or range(len(rows))
    index = slice(part.start, part.stop)
    zones = [name for name, _offset in cat.TIMEZONES]
    stamps = np.datetime_as_string(rows.at[index].astype("datetime64[ms]"), unit="ms")
    columns = zip(
        part, stamps.tolist(), rows.customer[index].tolist(),
        rows.channel[index].tolist(), rows.content[index].tolist(),
        rows.device[index].tolist(), rows.login[index].tolist(), rows.action[index].tolist(),
        rows.amount[index].tolist(), strict=True,
    )  # fmt: skip
    return [
        _call(
            ids,
            f"{prefix}{n:09d}",
            stamp + "Z",
            customer,
            channel,
            content,
            device,
            login,
            action,
            amount,
            zones[int(timezone[customer])],
            bool(has_phone[customer]),
        )
        for n, stamp, customer, channel, content, device, login, action, amount in columns
    ]


def _call(
    ids: Identities,
    message_id: str,
    timestamp: str,
    customer: int,
    channel: int,
    content: int,
    device: int,
    login: bool,
    action: int,
    amount: float,
    timezone: str,
    has_phone: bool,
) -> dict[str, Any]:
    item = cat.CONTENT[content]
    channel_name = cat.CHANNELS[channel]
    context: dict[str, Any] = {"channel": channel_name, "timezone": timezone}
    call: dict[str, Any] = {"type": item.type, "messageId": message_id, "timestamp": timestamp}
    if login:
        call["userId"] = ids.user_id(customer)
    if device >= 0:
        call["anonymousId"] = ids.anonymous_id(customer, device)
        if device == 1:
            context["device"] = {
                "id": call["anonymousId"],
                "type": "ios" if customer % 5 < 3 else "android",
            }
            context["app"] = APP
        else:
            context["userAgent"] = USER_AGENTS[device]
    if item.type == "identify":
        call["traits"] = ids.traits(customer, timezone, full=device < 0)
        if device < 0 and has_phone:
            call["traits"]["phone"] = ids.phone(customer)
    else:
        name, properties = _describe(content, channel_name, action, amount, message_id)
        call["event" if item.type == "track" else "name"] = name
        if properties:
            call["properties"] = properties
        if item.type == "page":
            context["page"] = {"path": properties["path"], "url": properties["url"]}
    identifiers: dict[str, str] = {}
    if channel_name in ("call_centre", "ivr") and has_phone:
        identifiers["phone"] = ids.phone(customer)
    if not login and device < 0:
        if channel_name == "sms" and has_phone:
            identifiers["phone"] = ids.phone(customer)
        elif channel_name == "social":
            first, _last = ids.name(customer)
            identifiers["social_handle"] = f"@{first.lower()}{ids.tag}{customer}"
        elif not identifiers:
            identifiers["email"] = ids.email(customer)
    if identifiers:
        context["identifiers"] = identifiers
    call["context"] = context
    return call


def _describe(
    content: int, channel: str, action: int, amount: float, message_id: str
) -> tuple[str, dict[str, Any]]:
    """The event name and properties of one row."""
    item = cat.CONTENT[content]
    if content < cat.N_BEHAVIOUR or content in (cat.RESOLVED, cat.CLOSED):
        return item.name, dict(item.properties)
    if content == cat.ORDER:
        intent = cat.INTENTS[action]
        return item.name, {
            "orderId": message_id.replace("sim-", "order-"),
            "product": intent.name,
            "revenue": amount,
            "currency": cat.CURRENCY,
        }
    offer = cat.ACTIONS[action]
    about = {"campaign": offer.name, "offer": offer.label}
    if content == cat.LANDING:
        path = cat.LANDING_PATHS[action]
        return offer.label, {
            "path": path,
            "url": f"https://www.harbourbank.example{path}?utm_campaign={offer.name}",
            **about,
        }
    if content == cat.COMPLAINED:
        name = "Email Marked as Spam" if channel == "email" else "Complaint Logged"
        return name, {**about, "about": "marketing"}
    names = cat.DELIVERY_EVENTS[channel]
    index = {cat.DELIVERED: 0, cat.CLICKED: 1, cat.UNSUBSCRIBED: 2}[content]
    if channel in ("web", "app"):
        about = {"promotion_id": offer.name, "name": offer.label, "position": "home banner"}
    return names[index], about
