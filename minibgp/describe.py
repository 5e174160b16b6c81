"""BGP messages explained field by field, with the RFC section defining each field.

`describe_message(raw, ctx)` is what `--trace` logs for every message sent and received;
`explain_hex(text)` is `python -m minibgp decode HEX`. Both show as much of a malformed message
as can be read, then the error and the NOTIFICATION (or RFC 7606 action) it calls for; they never
raise on bad input. The fields are cut where the decoders cut them (the Optional Parameters, the
UPDATE's fields, each path attribute), and the decoder has the last word on validity.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from minibgp.wire.attributes import (
    ATTRIBUTE_CLASSES,
    AttributeSpan,
    UnknownAttribute,
    decode_attribute,
    split_path_attributes,
)
from minibgp.wire.attributes.base import attribute_type_name, flags_text
from minibgp.wire.capabilities import (
    AS_TRANS,
    CAPABILITIES_OPTIONAL_PARAMETER,
    CAPABILITY_CLASSES,
    decode_capabilities,
    optional_parameters,
    optional_parameters_length,
)
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import BGPError, ErrorCode, HeaderErrorSubcode, error_name
from minibgp.wire.header import HEADER_LENGTH, MARKER, MINIMUM_LENGTH, MessageType, check_header
from minibgp.wire.messages import Notification, Update, UpdateFields, decode_message
from minibgp.wire.nlri import PrefixList, family_name, split_prefixes

_HEADER = "RFC 4271 §4.1"
_MESSAGE_RFC = {
    MessageType.OPEN: "RFC 4271 §4.2",
    MessageType.UPDATE: "RFC 4271 §4.3",
    MessageType.NOTIFICATION: "RFC 4271 §4.5",
    MessageType.KEEPALIVE: "RFC 4271 §4.4",
    MessageType.ROUTE_REFRESH: "RFC 2918 §3",
}


@dataclass(frozen=True)
class Explanation:
    """A message field by field, and the NOTIFICATION it calls for (None: none)."""

    text: str
    answer: Notification | None


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
    return explain(raw, ctx).text


def explain(raw: bytes, ctx: CodecContext | None = None) -> Explanation:
    """One whole message (header included), field by field, and what it calls for."""
    out = _Lines()
    if len(raw) < HEADER_LENGTH:
        out.lines.append(f"{len(raw)} octets: shorter than a BGP header (19 octets)")
        return Explanation(out.text(), None)
    try:
        name = MessageType(raw[18]).name.replace("_", "-")
    except ValueError:
        name = f"type {raw[18]}"
    out.lines.append(f"{name} message, {len(raw)} octets")
    marker = "all ones" if raw[:16] == MARKER else f"0x{raw[:16].hex()} (NOT all ones)"
    out.add(1, "Marker", marker, _HEADER)
    out.add(1, "Length", int.from_bytes(raw[16:18], "big"), _HEADER)
    out.add(1, "Type", f"{raw[18]} ({name})", _HEADER)
    try:
        length, msg_type = check_header(raw[:HEADER_LENGTH])
    except BGPError as exc:
        return Explanation(_error(exc, out), Notification.from_error(exc))
    if length != len(raw):
        out.add(1, "Note", f"the Length field says {length} but {len(raw)} octets were given")
    return _explain_body(msg_type, raw[HEADER_LENGTH:length], ctx or CodecContext(), out)


def explain_update_body(body: bytes, ctx: CodecContext | None = None) -> Explanation:
    """The body of an UPDATE given without its header, field by field."""
    out = _Lines()
    out.lines.append(f"UPDATE body, {len(body)} octets")
    minimum = MINIMUM_LENGTH[MessageType.UPDATE] - HEADER_LENGTH
    if len(body) < minimum:
        out.add(1, "Error", f"an UPDATE body has at least {minimum} octets (Withdrawn Routes "
                "Length, Total Path Attribute Length)", "RFC 4271 §4.3")  # fmt: skip
        error = BGPError(ErrorCode.MESSAGE_HEADER_ERROR, HeaderErrorSubcode.BAD_MESSAGE_LENGTH)
        out.add(1, "Answer", f"NOTIFICATION 1/2 {error_name(1, 2)}", "RFC 4271 §6.1")
        return Explanation(out.text(), Notification.from_error(error))
    return _explain_body(MessageType.UPDATE, body, ctx or CodecContext(), out)


def _explain_body(msg_type: int, body: bytes, ctx: CodecContext, out: _Lines) -> Explanation:
    rfc = _MESSAGE_RFC[MessageType(msg_type)]
    try:
        try:
            if msg_type == MessageType.OPEN:
                _describe_open(body, out, rfc)
            elif msg_type == MessageType.UPDATE:
                _describe_update(body, ctx, out, rfc)
            elif msg_type == MessageType.NOTIFICATION:
                _describe_notification(body, out, rfc)
            elif msg_type == MessageType.ROUTE_REFRESH:
                _describe_route_refresh(body, out, rfc)
        except IndexError:  # a fixed field cut short: the decoder says what that means
            pass
        decoded = decode_message(msg_type, body, ctx)  # the decoder has the last word
    except BGPError as exc:
        return Explanation(_error(exc, out), Notification.from_error(exc))
    if isinstance(decoded, Update):
        _describe_update_outcome(decoded, out)
    return Explanation(out.text(), None)


def _error(exc: BGPError, out: _Lines) -> str:
    out.add(1, "Error", exc.reason)
    data = f", data 0x{exc.data.hex()}" if exc.data else ""
    answer = f"NOTIFICATION {exc.code}/{exc.subcode} {error_name(exc.code, exc.subcode)}{data}"
    out.add(1, "Answer", answer, "RFC 4271 §6")
    return out.text()


def _describe_open(body: bytes, out: _Lines, rfc: str) -> None:
    out.add(1, "Version", body[0], rfc)
    my_as = int.from_bytes(body[1:3], "big")
    note = " (AS_TRANS: the real AS is in the 4-octet AS capability, RFC 6793 §4.1)"
    out.add(1, "My Autonomous System", f"{my_as}{note if my_as == AS_TRANS else ''}", rfc)
    hold_time = int.from_bytes(body[3:5], "big")
    out.add(1, "Hold Time", f"{hold_time} s" + (" (no keepalives)" if hold_time == 0 else ""), rfc)
    out.add(1, "BGP Identifier", ".".join(str(b) for b in body[5:9]), rfc)
    length = optional_parameters_length(body[9:])
    out.add(1, "Opt Parm Len", length.opt_parm_len, rfc)
    if length.extended_length is not None:
        out.add(1, "Extended Opt. Parm. Length", length.extended_length, "RFC 9072 §2")
    for parameter in optional_parameters(body[9:]):
        capabilities = parameter.type == CAPABILITIES_OPTIONAL_PARAMETER
        kind = "Capabilities" if capabilities else "unsupported"
        out.add(1, "Optional Parameter",
                f"type {parameter.type} ({kind}), {len(parameter.value)} octets", rfc)  # fmt: skip
        if capabilities:
            for capability in decode_capabilities(parameter.value):
                code = capability.capability_code()
                cls = CAPABILITY_CLASSES.get(code)
                label = cls.name if cls else "(not implemented)"
                out.add(2, f"Capability {code} {label}", capability.describe(), capability.rfc)


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


def _describe_route_refresh(body: bytes, out: _Lines, rfc: str) -> None:
    out.add(1, "AFI", family_name(int.from_bytes(body[0:2], "big"), 1).split()[0], rfc)
    subtypes = {0: "normal request", 1: "Beginning of Route Refresh", 2: "End of Route Refresh"}
    subtype = f"{body[2]} ({subtypes.get(body[2], 'unknown')})"
    out.add(1, "Message Subtype", subtype, "RFC 7313 §3")
    out.add(1, "SAFI", body[3], rfc)


def _describe_update(body: bytes, ctx: CodecContext, out: _Lines, rfc: str) -> None:
    out.add(1, "Withdrawn Routes Length", int.from_bytes(body[0:2], "big"), rfc)
    fields = UpdateFields.split(body)
    if fields.withdrawn_routes:
        out.add(1, "Withdrawn Routes", _prefixes(fields.withdrawn_routes), rfc)
    out.add(1, "Total Path Attribute Length", len(fields.path_attributes), rfc)
    spans, list_error = split_path_attributes(fields.path_attributes)
    for span in spans:
        _describe_attribute(fields.path_attributes, span, ctx, out, rfc)
    if list_error:
        out.add(1, "Path Attributes", f"MALFORMED: {list_error}", "RFC 7606 §4")
    if fields.nlri:
        out.add(1, "Network Layer Reachability Information", _prefixes(fields.nlri), rfc)


def _describe_attribute(
    data: bytes, span: AttributeSpan, ctx: CodecContext, out: _Lines, rfc: str
) -> None:
    cls = ATTRIBUTE_CLASSES.get(span.type_code)
    name = attribute_type_name(span.type_code)
    out.add(1, "Path Attribute", name, cls.rfc if cls else "RFC 4271 §5 (unrecognized)")
    out.add(2, "Flags", f"0x{span.flags:02x} ({flags_text(span.flags)})", rfc)
    out.add(2, "Type Code", span.type_code, rfc)
    length_rfc = rfc + (" (Extended Length)" if span.extended_length else "")
    out.add(2, "Length", span.end - span.value_start, length_rfc)
    value = data[span.value_start : span.end]
    if cls is None:
        out.add(2, "Value", UnknownAttribute(span.type_code, span.flags, value).describe())
        return
    try:
        fields = decode_attribute(data, span, ctx).describe_fields()
    except BGPError as exc:
        fields = [("Value", f"MALFORMED: {exc.reason} (0x{value.hex()})", "")]
    for field_name, text, section in fields:
        out.add(2, field_name, text, section)


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
    for family, (reason, rule) in update.unusable.items():
        text = f"{family_name(*family)} routes treated as withdrawn: {reason}"
        out.add(1, "Outcome", text, rule)
    for family, reason in update.ignored_families.items():
        out.add(1, "Outcome", f"{family_name(*family)} routes ignored: {reason}", "RFC 4760 §8")


def parse_hex(text: str) -> bytes:
    """Octets from hex written with or without spaces, colons, newlines or a 0x prefix."""
    cleaned = text.strip()
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    cleaned = "".join(c for c in cleaned if c not in string.whitespace + ":-")
    return bytes.fromhex(cleaned)


def explain_hex(text: str, ctx: CodecContext | None = None) -> Explanation:
    """One message given in hex (`python -m minibgp decode HEX`); ValueError if not hex.

    Accepts the whole message, the header without the Marker, or an UPDATE body alone.
    """
    data = parse_hex(text)
    if data.startswith(MARKER):
        return explain(data, ctx)
    if len(data) >= 3 and int.from_bytes(data[:2], "big") == len(data) + 16:
        explanation = explain(MARKER + data, ctx)
        note = "(no Marker given: added)"
    else:
        explanation = explain_update_body(data, ctx)
        note = "(no header given: read as the body of an UPDATE)"
    return Explanation(f"{note}\n{explanation.text}", explanation.answer)
