"""Typed customer identifiers: parsing, normalisation, and the keys used for matching.

Email and phone are personal data. They are normalised (so ``Ann@Example.com `` and
``ann@example.com`` match) and matched by a keyed hash, so the identity graph never needs
the raw value; the raw value lives only in the profile, where it can be erased.

>>> normalise("email", " Ann@Example.COM ")
'ann@example.com'
>>> normalise("phone", "+44 (20) 7946-0958")
'+442079460958'
>>> parse("userId:u42")
Identifier(type='userId', value='u42')
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from onevoice.domain.errors import InvalidIdentifier

USER_ID = "userId"
ANONYMOUS_ID = "anonymousId"
EMAIL = "email"
PHONE = "phone"
CRM_ID = "crm_id"
DEVICE_ID = "device_id"

#: Strongest first: an event is filed under the profile of its strongest known identifier.
PRIORITY: dict[str, int] = {
    USER_ID: 0,
    CRM_ID: 1,
    EMAIL: 2,
    PHONE: 3,
    DEVICE_ID: 5,
    ANONYMOUS_ID: 6,
}
_CUSTOM_PRIORITY = 4

#: Identifiers that name exactly one person: two different values never merge.
DEFAULT_UNIQUE_TYPES: frozenset[str] = frozenset({USER_ID, CRM_ID})

#: Types stored as keyed hashes for matching.
PERSONAL_TYPES: frozenset[str] = frozenset({EMAIL, PHONE})

#: Types that say who a person is (as opposed to which browser or device they used).
KNOWN_TYPES: frozenset[str] = frozenset({USER_ID, CRM_ID, EMAIL, PHONE})

_ALIASES = {
    "user_id": USER_ID,
    "userid": USER_ID,
    "anonymous_id": ANONYMOUS_ID,
    "anonymousid": ANONYMOUS_ID,
    "crmid": CRM_ID,
    "crm": CRM_ID,
    "deviceid": DEVICE_ID,
    "device": DEVICE_ID,
    "mobile": PHONE,
    "phone_number": PHONE,
    "e-mail": EMAIL,
}
_TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_VALUE_LENGTH = 256


@dataclass(frozen=True, slots=True, order=True)
class Identifier:
    """One typed identifier, already normalised."""

    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


_SET_TYPE = getattr(Identifier, "type").__set__  # noqa: B009 (the slot, not a str)
_SET_VALUE = getattr(Identifier, "value").__set__  # noqa: B009
_blank = object.__new__


def new_identifier(id_type: str, value: str) -> Identifier:
    """``Identifier(id_type, value)`` for a canonical type and a normalised value, through
    the slots' own setters: the frozen dataclass's ``__init__`` sets each field with
    ``object.__setattr__``, which costs several times as much, and every event builds
    one to three identifiers when it is parsed."""
    identifier: Identifier = _blank(Identifier)
    _SET_TYPE(identifier, id_type)
    _SET_VALUE(identifier, value)
    return identifier


def canonical_type(raw_type: str) -> str:
    """The canonical name of an identifier type (``user_id`` → ``userId``)."""
    known = _CANONICAL.get(raw_type)  # every event names a few types: skip the regex
    if known is not None:
        return known
    if not _TYPE_RE.match(raw_type):
        raise InvalidIdentifier(
            f"identifier type {raw_type!r} must be a letter then up to 31 letters, digits or _",
            field="type",
        )
    lowered = raw_type.lower()
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    for known in PRIORITY:
        if lowered == known.lower():
            return known
    return lowered


_CANONICAL: dict[str, str] = {name: name for name in PRIORITY} | {
    alias: name for alias, name in _ALIASES.items() if _TYPE_RE.match(alias)
}


def normalise(id_type: str, value: object) -> str:
    """Normalise a raw identifier value of a canonical type; raise if it is not one."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidIdentifier(f"{id_type} must be a string", field=id_type)
    text = str(value).strip()
    if not text:
        raise InvalidIdentifier(f"{id_type} must not be empty", field=id_type)
    if len(text) > MAX_VALUE_LENGTH:
        raise InvalidIdentifier(
            f"{id_type} is longer than {MAX_VALUE_LENGTH} characters", field=id_type
        )
    if id_type == EMAIL:
        text = text.lower()
        if not _EMAIL_RE.match(text):
            raise InvalidIdentifier(f"{text!r} is not an email address", field=id_type)
    elif id_type == PHONE:
        text = _normalise_phone(text)
    return text


def _normalise_phone(text: str) -> str:
    plus = text.startswith("+") or text.startswith("00")
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits = digits[2:]
    if not 6 <= len(digits) <= 15:
        raise InvalidIdentifier(f"{text!r} is not a phone number", field=PHONE)
    return ("+" if plus else "") + digits


def make(id_type: str, value: object) -> Identifier:
    """Build a normalised identifier from a raw type name and value."""
    canonical = canonical_type(id_type)
    return new_identifier(canonical, normalise(canonical, value))


def parse(text: str) -> Identifier:
    """Parse ``type:value`` as used in URLs (``email:ann@example.com``)."""
    id_type, sep, value = text.partition(":")
    if not sep:
        raise InvalidIdentifier(
            f"{text!r} is not of the form type:value (e.g. userId:u42)", field="identifier"
        )
    return make(id_type, value)


def priority(identifier: Identifier) -> int:
    """Lower is stronger."""
    return PRIORITY.get(identifier.type, _CUSTOM_PRIORITY)


def match_key(identifier: Identifier, secret: bytes) -> str:
    """The key the identity graph matches on: a keyed hash for personal data, else the value."""
    if identifier.type in PERSONAL_TYPES:
        digest = hmac.new(secret, str(identifier).encode(), hashlib.sha256).hexdigest()
        return f"{identifier.type}:#{digest[:40]}"
    return str(identifier)
