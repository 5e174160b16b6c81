"""LOC (RFC 1876): a location as latitude, longitude, altitude and precisions."""

from __future__ import annotations

import re
import struct

from dnslib import RD

from ..errors import FieldError
from ..text import parse_int
from .codec import OpaqueRD
from .fields import Fields, parser


@parser("LOC")
def _loc(fields: Fields) -> RD:
    """RFC 1876 §3: ``d [m [s]] N|S d [m [s]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]``."""
    latitude = _angle(fields, "NS", 90)
    longitude = _angle(fields, "EW", 180)
    altitude = _meters(fields.token("altitude"), -100000.0, 42849672.95)
    precisions = [1.0, 10000.0, 10.0]  # RFC 1876 §3 defaults: size 1m, hp 10km, vp 10m
    for index in range(3):
        if fields.more():
            precisions[index] = _meters(fields.token("precision"), 0.0, 90000000.0)
    fields.end()
    data = struct.pack(
        "!BBBBIII",
        0,
        *(_precision(value) for value in precisions),
        latitude,
        longitude,
        round(altitude * 100) + 10000000,
    )
    return OpaqueRD(data, " ".join(fields.tokens))


def _angle(fields: Fields, hemispheres: str, max_degrees: int) -> int:
    """An angle as RFC 1876 §2 stores it: thousandths of a second, offset by 2^31."""
    parts: list[str] = []
    while True:
        token = fields.token("hemisphere " + "/".join(hemispheres))
        if token.upper() in hemispheres:
            break
        parts.append(token)
    if not 1 <= len(parts) <= 3:
        raise FieldError(f"LOC needs degrees [minutes [seconds]] before {token}")
    degrees = parse_int(parts[0], 8, "degrees")
    minutes = parse_int(parts[1], 8, "minutes") if len(parts) > 1 else 0
    seconds = _decimal(parts[2], "seconds") if len(parts) > 2 else 0.0
    if degrees > max_degrees or minutes > 59 or not 0 <= seconds < 60:
        raise FieldError(f"LOC angle out of range: {' '.join(parts)}")
    thousandths = (degrees * 3600 + minutes * 60) * 1000 + round(seconds * 1000)
    if thousandths > max_degrees * 3600 * 1000:
        raise FieldError(f"LOC angle out of range: {' '.join(parts)}")
    return 2**31 + thousandths if token.upper() in "NE" else 2**31 - thousandths


def _decimal(token: str, what: str) -> float:
    if not re.fullmatch(r"-?\d+(?:\.\d*)?", token):
        raise FieldError(f"LOC {what}: bad number {token!r}")
    return float(token)


def _meters(token: str, low: float, high: float) -> float:
    value = _decimal(token[:-1] if token[-1:] in "mM" else token, "meters")
    if not low <= value <= high:
        raise FieldError(f"LOC value {token} out of range")
    return value


def _precision(meters: float) -> int:
    """RFC 1876 §2: a size in centimetres as a base and a power of ten, four bits each."""
    centimetres = round(meters * 100)
    exponent = 0
    while centimetres >= 10 and exponent < 9:
        centimetres //= 10
        exponent += 1
    return (min(centimetres, 9) << 4) | exponent
