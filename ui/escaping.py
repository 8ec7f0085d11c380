"""The one way text that a document, a file name or a URL controls reaches the page.

Streamlit draws such text as Markdown (captions, messages, help texts, labels) or inside the
cards' HTML, and both read more than HTML: a blank line ends an HTML block and what follows is
Markdown again (links, remote images), `$…$` is a KaTeX formula, `:red[…]` and `:material/…:`
are Streamlit's own markup. So every ASCII punctuation mark and every line break becomes a
numeric character reference: the browser shows it as itself, and no parser (HTML, Markdown,
KaTeX, Streamlit's) takes it for syntax. Letters, digits and spaces of any script are left as
they are. Escape once, at the point where the text meets the page.

One Markdown rule reads the decoded text, not the source: GFM's bare links (`http://…`,
`www.…`, `name@host`) are found after references are decoded. An invisible word joiner (U+2060)
before `://`, `@` and the dot of `www.` keeps them text; nothing else is changed.
"""
from __future__ import annotations

import re

# Every line break Unicode knows (Markdown ends a block at any of the first three), folded to one.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# The other control characters mean nothing on a page.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f]")
# All of ASCII's punctuation: ! " # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \ ] ^ _ ` { | } ~
_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
# Where GFM would start a bare link: before "://" and "@", and between "www" and its dot.
_BARE_LINK = re.compile(r"(?=://)|(?=@)|(?<=www)(?=\.)", re.IGNORECASE)


def escape(text: object) -> str:
    """`text` as inert characters for Markdown or HTML (element text or attribute value alike).

    A line break becomes `&#10;`: a space in running text, a line break where the CSS keeps
    them (`white-space: pre-line`, the cards' passages).
    """
    text = _BARE_LINK.sub("\u2060", _CONTROL.sub(" ", _LINE_BREAK.sub("\n", str(text))))
    return _PUNCTUATION.sub(lambda m: f"&#{ord(m.group())};", text).replace("\n", "&#10;")
