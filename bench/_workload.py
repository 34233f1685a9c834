"""Deterministic, realistic Segment-shaped traffic for the listening-post benchmarks.

People browse anonymously on one to three devices (some of them apps with a device id),
identify with an email, later log in with a userId; a few use a shared device (a family
tablet, a shop kiosk) whose one anonymousId is seen with several people. Everything is
derived from a seed, so two runs replay the same events in the same order.

The event log is built as one sorted list of small integers (time, person, step) and
materialised as dicts in chunks, so a million events do not sit in memory as dicts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

BASE = datetime(2025, 10, 1, tzinfo=UTC)
WINDOW_SECONDS = 30 * 24 * 3600
_PERSON_BITS = 24
_STEP_BITS = 8
MAX_STEPS = (1 << _STEP_BITS) - 1

PAGES = [
    ("Home", "/"),
    ("Shoes", "/c/shoes"),
    ("Jackets", "/c/jackets"),
    ("Sale", "/sale"),
    ("Product", "/p/{sku}"),
    ("Basket", "/basket"),
    ("Help", "/help/returns"),
]
TRACKS = [
    ("Product Viewed", 40),
    ("Product Added", 15),
    ("Products Searched", 15),
    ("Checkout Started", 8),
    ("Order Completed", 5),
    ("Newsletter Opened", 7),
    ("Coupon Applied", 5),
    ("Product Removed", 5),
]
_TRACK_NAMES = [name for name, _w in TRACKS]
_TRACK_WEIGHTS = [w for _n, w in TRACKS]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
]
FIRST_NAMES = ["Ann", "Bob", "Chloe", "Dev", "Emeka", "Fatima", "Goran", "Hana", "Ivo", "Jun"]


@dataclass(frozen=True, slots=True)
class Person:
    """Who one simulated person is and when their identity becomes known."""

    devices: tuple[str, ...]  # anonymousIds, one per device
    app_devices: tuple[bool, ...]  # which devices are an app (context.device.id)
    email: str | None
    user_id: str | None
    identify_at: int  # step of the identify-with-email call (-1: never)
    login_at: int  # step of the login (identify with userId) (-1: never)
    shared_device: str | None  # anonymousId of a shared device used at the last step
    steps: int


class Workload:
    """``people`` people making about ``events`` events in all (exactly, with ``exact``)."""

    def __init__(self, people: int, events: int, seed: int = 7, *, tag: str = "") -> None:
        if people >= 1 << _PERSON_BITS:
            raise ValueError("too many people")
        self.seed = seed
        self.tag = tag
        rng = random.Random(seed)
        mean_steps = 1.15 * events / people  # a little over, then cut to exactly ``events``
        n_shared = max(1, people // 400)
        self.people: list[Person] = []
        order: list[int] = []
        for p in range(people):
            steps = min(MAX_STEPS, 1 + int(rng.expovariate(1.0 / max(mean_steps - 1.0, 0.01))))
            n_dev = rng.choices((1, 2, 3), (70, 22, 8))[0]
            devices = tuple(f"anon-{tag}{p}-{d}" for d in range(n_dev))
            apps = tuple(rng.random() < 0.3 for _ in range(n_dev))
            identify_at = login_at = -1
            email = user_id = None
            if steps >= 2 and rng.random() < 0.65:
                identify_at = rng.randrange(1, steps)
                email = f"person{tag}{p}@example{p % 97}.com"
                if identify_at < steps - 1 and rng.random() < 0.7:
                    login_at = rng.randrange(identify_at + 1, steps)
                    user_id = f"user-{tag}{p}"
            shared = None
            if steps >= 3 and rng.random() < 0.015:
                shared = f"anon-{tag}shared-{rng.randrange(n_shared)}"
            self.people.append(
                Person(devices, apps, email, user_id, identify_at, login_at, shared, steps)
            )
            start = rng.randrange(WINDOW_SECONDS)
            for k in range(steps):
                t = start + k * rng.randrange(30, 3600)
                order.append((t << (_PERSON_BITS + _STEP_BITS)) | (p << _STEP_BITS) | k)
        order.sort()
        self.order = order[:events]

    def __len__(self) -> int:
        return len(self.order)

    def chunks(self, size: int, *, start: int = 0) -> Iterator[list[dict[str, Any]]]:
        """The events in time order, ``size`` at a time, as raw Segment calls."""
        rng = random.Random(self.seed + 1)
        mask_p = (1 << _PERSON_BITS) - 1
        mask_k = (1 << _STEP_BITS) - 1
        chunk: list[dict[str, Any]] = []
        for n, code in enumerate(self.order):
            t = code >> (_PERSON_BITS + _STEP_BITS)
            p = (code >> _STEP_BITS) & mask_p
            k = code & mask_k
            chunk.append(self.event(rng, start + n, t, p, k))
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def event(self, rng: random.Random, n: int, t: int, p: int, k: int) -> dict[str, Any]:
        person = self.people[p]
        d = k % len(person.devices)
        anonymous_id = person.devices[d]
        app = person.app_devices[d]
        call: dict[str, Any] = {
            "messageId": f"m-{self.seed}-{self.tag}{n}",
            "timestamp": (BASE + timedelta(seconds=t)).isoformat().replace("+00:00", "Z"),
        }
        if person.shared_device and k == person.steps - 1:
            anonymous_id, app = person.shared_device, False
        call["anonymousId"] = anonymous_id
        if app:
            context: dict[str, Any] = {
                "app": {"name": "Shop", "version": "4.2.1", "build": "421"},
                "device": {"id": f"dev-{anonymous_id}", "type": "ios", "model": "iPhone15,2"},
                "os": {"name": "iOS", "version": "17.4"},
                "locale": "en-GB",
            }
        else:
            context = {
                "userAgent": USER_AGENTS[p % len(USER_AGENTS)],
                "ip": f"10.{p % 250}.{k % 250}.{(p >> 8) % 250}",
                "locale": "en-GB",
            }
        call["context"] = context
        logged_in = person.login_at >= 0 and k >= person.login_at
        if logged_in:
            call["userId"] = person.user_id
        if (
            k == person.identify_at
            or k == person.login_at
            or (person.shared_device and k == person.steps - 1 and person.email)
        ):
            call["type"] = "identify"
            call["traits"] = {
                "email": person.email,
                "first_name": FIRST_NAMES[p % len(FIRST_NAMES)],
                "plan": "gold" if p % 5 == 0 else "standard",
                "newsletter": bool(p % 2),
            }
            if person.user_id and k >= person.login_at >= 0:
                call["userId"] = person.user_id
            return call
        sku = f"sku-{rng.randrange(5000):05d}"
        if rng.random() < 0.4:
            name, path = PAGES[rng.randrange(len(PAGES))]
            path = path.format(sku=sku)
            call["type"] = "screen" if app else "page"
            call["name"] = name
            call["properties"] = {
                "path": path,
                "url": f"https://shop.example.com{path}",
                "title": f"{name} | Example Shop",
                "referrer": "https://www.google.com/",
            }
            if not app:
                context["page"] = {"path": path, "url": f"https://shop.example.com{path}"}
            return call
        event = rng.choices(_TRACK_NAMES, _TRACK_WEIGHTS)[0]
        price = round(rng.uniform(5, 250), 2)
        properties: dict[str, Any] = {
            "product_id": sku,
            "price": price,
            "currency": "GBP",
            "category": "shoes" if rng.random() < 0.5 else "jackets",
        }
        if event == "Order Completed":
            properties["order_id"] = f"o-{self.tag}{n}"
            properties["revenue"] = round(price * rng.randint(1, 3), 2)
        call["type"] = "track"
        call["event"] = event
        call["properties"] = properties
        return call
