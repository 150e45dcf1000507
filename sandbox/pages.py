"""The HTML both sandboxes' consent pages are made of: plain server-rendered forms with labelled
controls and no script, so that a person, or a browser driven by a test, clicks them as they
would click the real services' pages.

Every value that reaches a page passes through `html.escape`: names, e-mail addresses and the
OAuth parameters carried between steps all come from outside."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from urllib.parse import parse_qs, urlencode

from sandbox.httpserver import Request, Response

STYLESHEET_PATH = "/_pages/consent.css"
# Served as a file rather than written into each page: the pages carry no inline style, and a
# policy that refuses inline style and script proves it in the browser.
_STYLESHEET = b"""body { font-family: sans-serif; max-width: 34rem; margin: 3rem auto; color: #222; }
h1 { font-size: 1.4rem; }
fieldset { border: 1px solid #ccc; margin: 1rem 0; padding: 0.5rem 1rem; }
label { display: block; margin: 0.4rem 0; }
.note { color: #555; font-size: 0.9rem; }
button { margin: 1rem 1rem 0 0; padding: 0.4rem 1.2rem; }
"""
_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass
class Choice:
    """One radio button or checkbox: the value it sends and the label a person reads."""

    value: str
    label: str
    checked: bool = False


def page(title: str, *parts: str, status: int = 200) -> Response:
    """A whole page: `title` as its heading, then `parts` (HTML already escaped) in order."""
    body = "".join(parts)
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="{STYLESHEET_PATH}"></head>'
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return Response(status, document.encode(), dict(_HEADERS))


def stylesheet() -> Response:
    """The pages' one stylesheet."""
    return Response(200, _STYLESHEET, {"Content-Type": "text/css; charset=utf-8", "Cache-Control": "no-store"})


def text(sentence: str, css_class: str = "") -> str:
    """A paragraph of plain text."""
    attribute = f' class="{escape(css_class)}"' if css_class else ""
    return f"<p{attribute}>{escape(sentence)}</p>"


def items(lines: Iterable[str]) -> str:
    """A bulleted list of plain-text lines."""
    return "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"


def form(action: str, carried: Mapping[str, str], *parts: str) -> str:
    """A form posting back to `action`, with `carried` as hidden fields (the OAuth request
    travels from step to step in them, as a real consent screen keeps it in its session)."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">' for name, value in carried.items()
    )
    return f'<form method="post" action="{escape(action)}">{hidden}{"".join(parts)}</form>'


def choices(kind: str, name: str, legend: str, options: Iterable[Choice]) -> str:
    """A fieldset of radio buttons (`kind` "radio") or checkboxes, each inside its label so that
    clicking the words clicks the box, and a test finds it by its label."""
    rows = "".join(
        f'<label><input type="{kind}" name="{escape(name)}" value="{escape(option.value)}"'
        f"{' checked' if option.checked else ''}{' required' if kind == 'radio' else ''}> "
        f"{escape(option.label)}</label>"
        for option in options
    )
    return f"<fieldset><legend>{escape(legend)}</legend>{rows}</fieldset>"


def button(label: str, name: str = "", value: str = "") -> str:
    """A submit button; `name`/`value` say which one was pressed."""
    named = f' name="{escape(name)}" value="{escape(value)}"' if name else ""
    return f'<button type="submit"{named}>{escape(label)}</button>'


def submitted(request: Request) -> dict[str, list[str]]:
    """A form post's fields (every value of each); anything unreadable is no field at all."""
    try:
        return parse_qs(request.body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}


def first(fields: Mapping[str, list[str]], name: str) -> str:
    """The first value of a submitted or query field, or an empty string."""
    values = fields.get(name) or [""]
    return values[0]


def back_to(redirect_uri: str, params: Mapping[str, str]) -> Response:
    """The 302 that ends a consent: back to the client with `params` in the query."""
    joiner = "&" if "?" in redirect_uri else "?"
    return Response(302, None, {"Location": f"{redirect_uri}{joiner}{urlencode(params)}"})
