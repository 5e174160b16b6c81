"""BGP messages explained field by field, with the RFC section defining each field.

`describe_message(raw, ctx)` is what `--trace` logs for every message sent and received;
`decode_hex(text)` is `python -m minibgp decode HEX`. Both show as much of a malformed message as
can be read, then the error and the NOTIFICATION (or RFC 7606 action) it calls for; they never
raise on bad input.
"""

from __future__ import annotations

import string

from minibgp.wire.attributes import ATTRIBUTE_CLASSES, AttributeFlag, UnknownAttribute
from minibgp.wire.attributes.base import attribute_type_name, flags_text
from minibgp.wire.capabilities import AS_TRANS, CAPABILITY_CLASSES, decode_capabilities
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import BGPError, ErrorCode, error_name
from minibgp.wire.header import HEADER_LENGTH, MARKER, MessageType, check_header
from minibgp.wire.messages import Notification, Update, decode_message
from minibgp.wire.nlri import PrefixList, family_name, split_prefixes

_HEADER = "RFC 4271 §4.1"
_MESSAGE_RFC = {
    MessageType.OPEN: "RFC 4271 §4.2",
    MessageType.UPDATE: "RFC 4271 §4.3",
    MessageType.NOTIFICATION: "RFC 4271 §4.5",
    MessageType.KEEPALIVE: "RFC 4271 §4.4",
    MessageType.ROUTE_REFRESH: "RFC 2918 §3",
}


class _Lines:
    """Collects 'name: value  (RFC ...)' lines with indentation."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, depth: int, name: str, value: object, rfc: str = "") -> None:
        text = f"{'  ' * depth}{name}: {value}"
        self.lines.append(f"{text}  ({rfc})" if rfc else text)

    def text(self) -> str:
        return "\n".join(self.lines)


def describe_message(raw: bytes, ctx: CodecContext | None = None) -> str:
    """Every field of one whole message (header included), one per line."""
    ctx = ctx or CodecContext()
    out = _Lines()
    try:
        _describe(raw, ctx, out)
    except BGPError as exc:
        _describe_error(exc, out)
    except (IndexError, ValueError) as exc:  # a field cut short in the middle of the display
        out.add(1, "Error", f"message cut short ({exc})")
    return out.text()


def _describe_error(exc: BGPError, out: _Lines) -> None:
    out.add(1, "Error", exc.reason)
    data = f", data 0x{exc.data.hex()}" if exc.data else ""
    out.add(
        1,
        "Answer",
        f"NOTIFICATION {exc.code}/{exc.subcode} {error_name(exc.code, exc.subcode)}{data}",
        "RFC 4271 §6",
    )


def _describe(raw: bytes, ctx: CodecContext, out: _Lines) -> None:
    if len(raw) < HEADER_LENGTH:
        out.lines.append(f"{len(raw)} octets: shorter than a BGP header (19 octets)")
        return
    try:
        name = MessageType(raw[18]).name.replace("_", "-")
    except ValueError:
        name = f"type {raw[18]}"
    out.lines.append(f"{name} message, {len(raw)} octets")
    marker = "all ones" if raw[:16] == MARKER else f"0x{raw[:16].hex()} (NOT all ones)"
    out.add(1, "Marker", marker, _HEADER)
    out.add(1, "Length", int.from_bytes(raw[16:18], "big"), _HEADER)
    out.add(1, "Type", f"{raw[18]} ({name})", _HEADER)
    length, msg_type = check_header(raw[:HEADER_LENGTH])
    if length != len(raw):
        out.add(1, "Note", f"the Length field says {length} but {len(raw)} octets were given")
    body = raw[HEADER_LENGTH:length]
    rfc = _MESSAGE_RFC[MessageType(msg_type)]
    if msg_type == MessageType.OPEN:
        _describe_open(body, out, rfc)
    elif msg_type == MessageType.UPDATE:
        _describe_update(body, ctx, out, rfc)
    elif msg_type == MessageType.NOTIFICATION:
        _describe_notification(body, out, rfc)
    elif msg_type == MessageType.ROUTE_REFRESH:
        out.add(1, "AFI", family_name(int.from_bytes(body[0:2], "big"), 1).split()[0], rfc)
        subtypes = {0: "normal request", 1: "Beginning of Route Refresh", 2: "End of Route Refresh"}
        out.add(
            1, "Message Subtype", f"{body[2]} ({subtypes.get(body[2], 'unknown')})", "RFC 7313 §3"
        )
        out.add(1, "SAFI", body[3], rfc)
    # Whatever the field walk showed, the decoder has the last word on validity.
    decoded = decode_message(msg_type, body, ctx)
    if isinstance(decoded, Update):
        _describe_update_outcome(decoded, out)


def _describe_open(body: bytes, out: _Lines, rfc: str) -> None:
    out.add(1, "Version", body[0], rfc)
    my_as = int.from_bytes(body[1:3], "big")
    note = " (AS_TRANS: the real AS is in the 4-octet AS capability, RFC 6793 §4.1)"
    out.add(1, "My Autonomous System", f"{my_as}{note if my_as == AS_TRANS else ''}", rfc)
    hold_time = int.from_bytes(body[3:5], "big")
    out.add(1, "Hold Time", f"{hold_time} s" + (" (no keepalives)" if hold_time == 0 else ""), rfc)
    out.add(1, "BGP Identifier", ".".join(str(b) for b in body[5:9]), rfc)
    out.add(1, "Opt Parm Len", body[9], rfc)
    offset, wide = 10, False
    if body[9] == 255 and len(body) > 10 and body[10] == 255:
        out.add(1, "Extended Opt. Parm. Length", int.from_bytes(body[11:13], "big"), "RFC 9072 §2")
        offset, wide = 13, True
    header = 3 if wide else 2
    while offset < len(body):
        param_type = body[offset]
        param_length = int.from_bytes(body[offset + 1 : offset + header], "big")
        value = body[offset + header : offset + header + param_length]
        kind = "Capabilities" if param_type == 2 else "unsupported"
        out.add(1, "Optional Parameter", f"type {param_type} ({kind}), {param_length} octets", rfc)
        if param_type == 2:
            for capability in decode_capabilities(value):
                code = capability.capability_code()
                cls = CAPABILITY_CLASSES.get(code)
                label = cls.name if cls else "(not implemented)"
                out.add(2, f"Capability {code} {label}", capability.describe(), capability.rfc)
        offset += header + param_length


def _describe_notification(body: bytes, out: _Lines, rfc: str) -> None:
    notification = Notification.decode_body(body)
    try:
        code_name = ErrorCode(notification.code).name
    except ValueError:
        code_name = "unknown"
    out.add(1, "Error code", f"{notification.code} ({code_name})", rfc)
    subcode_text = error_name(notification.code, notification.subcode)
    out.add(1, "Error subcode", f"{notification.subcode} ({subcode_text})", "RFC 4271 §6")
    if notification.data:
        out.add(1, "Data", f"0x{notification.data.hex()}", rfc)
    if (message := notification.shutdown_message) is not None:
        out.add(1, "Shutdown Communication", repr(message), "RFC 8203 §2")


def _describe_update(body: bytes, ctx: CodecContext, out: _Lines, rfc: str) -> None:
    withdrawn_length = int.from_bytes(body[0:2], "big")
    out.add(1, "Withdrawn Routes Length", withdrawn_length, rfc)
    withdrawn = body[2 : 2 + withdrawn_length]
    if withdrawn:
        out.add(1, "Withdrawn Routes", _prefixes(withdrawn), rfc)
    at = 2 + withdrawn_length
    attributes_length = int.from_bytes(body[at : at + 2], "big")
    out.add(1, "Total Path Attribute Length", attributes_length, rfc)
    attributes = body[at + 2 : at + 2 + attributes_length]
    offset = 0
    while offset + 3 <= len(attributes):
        flags, type_code = attributes[offset], attributes[offset + 1]
        wide = bool(flags & AttributeFlag.EXTENDED_LENGTH)
        if wide:
            length, start = int.from_bytes(attributes[offset + 2 : offset + 4], "big"), offset + 4
        else:
            length, start = attributes[offset + 2], offset + 3
        value = attributes[start : start + length]
        cls = ATTRIBUTE_CLASSES.get(type_code)
        name = attribute_type_name(type_code)
        out.add(1, "Path Attribute", name, cls.rfc if cls else "RFC 4271 §5 (unrecognized)")
        out.add(2, "Flags", f"0x{flags:02x} ({flags_text(flags)})", rfc)
        out.add(2, "Type Code", type_code, rfc)
        out.add(2, "Length", length, rfc + (" (Extended Length)" if wide else ""))
        for name, text, section in _attribute_fields(cls, type_code, flags, value, ctx):
            out.add(2, name, text, section)
        offset = start + length
    nlri = body[at + 2 + attributes_length :]
    if nlri:
        out.add(1, "Network Layer Reachability Information", _prefixes(nlri), rfc)


def _attribute_fields(
    cls: object, type_code: int, flags: int, value: bytes, ctx: CodecContext
) -> list[tuple[str, str, str]]:
    if cls is None:
        return [("Value", UnknownAttribute(type_code, flags, value).describe(), "")]
    try:
        return ATTRIBUTE_CLASSES[type_code].unpack_value(value, ctx).describe_fields()
    except BGPError as exc:
        return [("Value", f"MALFORMED: {exc.reason} (0x{value.hex()})", "")]


def _prefixes(data: bytes) -> str:
    try:
        return " ".join(str(p) for p in PrefixList(split_prefixes(data)))
    except BGPError as exc:
        return f"MALFORMED: {exc.reason} (0x{data.hex()})"


def _describe_update_outcome(update: Update, out: _Lines) -> None:
    if (family := update.is_end_of_rib()) is not None:
        out.add(1, "Meaning", f"End-of-RIB for {family_name(*family)}", "RFC 4724 §2")
    if update.treat_as_withdraw:
        reasons = "; ".join(update.errors)
        out.add(1, "RFC 7606 outcome", f"treat-as-withdraw ({reasons})", "RFC 7606 §2")
    for discarded in update.discarded_attributes:
        out.add(1, "RFC 7606 outcome", f"attribute discarded: {discarded}", "RFC 7606 §2")


def parse_hex(text: str) -> bytes:
    """Octets from hex written with or without spaces, colons, newlines or a 0x prefix."""
    cleaned = text.strip()
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    cleaned = "".join(c for c in cleaned if c not in string.whitespace + ":-")
    return bytes.fromhex(cleaned)


def decode_hex(text: str, ctx: CodecContext | None = None) -> str:
    """Describe one message given in hex (`python -m minibgp decode HEX`).

    Accepts the whole message, the header without the Marker, or an UPDATE body alone.
    """
    try:
        data = parse_hex(text)
    except ValueError as exc:
        return f"not hexadecimal: {exc}"
    note = ""
    if not data.startswith(MARKER):
        if len(data) >= 3 and int.from_bytes(data[:2], "big") == len(data) + 16:
            data = MARKER + data
            note = "(no Marker given: added)\n"
        else:
            data = MARKER + (len(data) + HEADER_LENGTH).to_bytes(2, "big") + b"\x02" + data
            note = "(no header given: read as the body of an UPDATE)\n"
    return note + describe_message(data, ctx)
