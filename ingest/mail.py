"""E-mails: EML (the standard library's `email`) and Outlook MSG (extract-msg).

A mail is a document of its own: its subject is the title, "From · To · Date" the heading, its
body the text (an HTML body is turned into text). Its attachments are documents of their own
too, named under the mail (`mail.eml/offer.pdf`): `attachments` hands them to `containers`,
which stores and bounds them like the members of a ZIP package.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .cleaning import clean_page
from .document import Document, PageText, ReadError


@dataclass
class Attachment:
    """One attachment: its file name, its size (known before its bytes are decoded), its bytes."""

    name: str
    size: int
    data: object  # a callable returning the bytes, so an attachment too large is never decoded


@dataclass
class _Mail:
    subject: str
    sender: str
    to: str
    date: str
    body: str
    attachments: list[Attachment]


def html_to_text(markup: str) -> str:
    """The visible text of an HTML body: scripts, styles and the head left out, blocks on lines."""
    import lxml.html

    if not markup.strip():
        return ""
    try:
        root = lxml.html.fromstring(markup)
    except Exception:  # lxml.etree.ParserError on a body of only comments or whitespace
        return ""
    for element in root.xpath("//script|//style|//head|//noscript"):
        element.drop_tree()
    for element in root.xpath("//br|//p|//div|//tr|//li|//h1|//h2|//h3|//h4|//h5|//h6|//table"):
        element.tail = "\n" + (element.tail or "")
    return root.text_content()


def _eml(path: Path) -> _Mail:
    import email
    from email import policy

    with open(path, "rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    if not message.keys():
        raise ReadError("not an e-mail (no headers)")
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = ""
    if body_part is not None:
        try:
            body = body_part.get_content()
        except (LookupError, ValueError):  # an unknown charset: the bytes, decoded leniently
            body = (body_part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        if body_part.get_content_subtype() == "html":
            body = html_to_text(body)
    attachments = []
    for part in message.iter_attachments():
        if part.get_content_type() == "message/rfc822":  # a forwarded mail: a mail of its own
            inner = part.get_payload(0)
            data = inner.as_bytes()
            name = part.get_filename() or f"{inner.get('subject', '') or 'forwarded message'}.eml"
            attachments.append(Attachment(name if name.lower().endswith(".eml") else name + ".eml", len(data), lambda d=data: d))
            continue
        if part.is_multipart():
            continue
        raw = part.get_payload()
        raw = raw if isinstance(raw, str) else ""
        encoding = part.get("content-transfer-encoding", "").lower()
        # Decoded size from the encoded text, without decoding it: base64 holds 3 bytes in 4 characters.
        size = (len(raw) - raw.count("\n") - raw.count("\r")) * 3 // 4 if encoding == "base64" else len(raw)
        attachments.append(Attachment(part.get_filename() or "", size, lambda p=part: p.get_payload(decode=True) or b""))
    return _Mail(str(message.get("subject", "") or ""), str(message.get("from", "") or ""),
                 str(message.get("to", "") or ""), str(message.get("date", "") or ""), body, attachments)


def _msg(path: Path) -> _Mail:
    try:
        import extract_msg
    except ImportError:
        raise ReadError("unsupported file type: Outlook message reader (extract-msg) not installed") from None
    try:
        message = extract_msg.openMsg(str(path), delayAttachments=False)
    except Exception as exc:  # extract-msg raises its own errors, and olefile's, on damaged files
        raise ReadError(f"corrupt Outlook message ({str(exc)[:120] or type(exc).__name__})") from None
    try:
        body = message.body or ""
        if not body.strip() and getattr(message, "htmlBody", None):
            body = html_to_text(message.htmlBody.decode("utf-8", "replace"))
        attachments = []
        for attachment in getattr(message, "attachments", []):
            data = attachment.data
            if not isinstance(data, bytes):  # an embedded Outlook item: no bytes of a file to read
                continue
            name = attachment.longFilename or attachment.shortFilename or ""
            attachments.append(Attachment(name, len(data), lambda d=data: d))
        return _Mail(message.subject or "", message.sender or "", message.to or "",
                     str(message.date or ""), body, attachments)
    finally:
        message.close()


def _parse(path: Path, kind: str) -> _Mail:
    return _msg(path) if kind == "msg" else _eml(path)


def read(path: Path, kind: str) -> Document:
    """The mail as a document: one section under "From · To · Date", with the body's text."""
    mail = _parse(path, kind)
    heading = " · ".join(f"{label}: {' '.join(value.split())}" for label, value in
                         (("From", mail.sender), ("To", mail.to), ("Date", mail.date)) if value.strip())
    text = clean_page(mail.body)
    if not text:
        names = ", ".join(a.name for a in mail.attachments if a.name)
        text = f"(no message text; attached: {names})" if names else ""
    if not text and not mail.subject.strip():
        raise ReadError("empty e-mail: no subject, no text")
    title = " ".join(mail.subject.split()) or path.stem
    return Document(kind, title, [PageText(None, text or title, heading=heading)])


def attachments(path: Path, kind: str) -> Iterator[Attachment]:
    """The mail's attachments, in their order in the mail."""
    yield from _parse(path, kind).attachments
