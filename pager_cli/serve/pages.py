"""The ack link's page: what the incident is, and one button. A GET only
shows it (mail scanners and chat previews GET every link); the button POSTs
to the same address, which acknowledges."""

from __future__ import annotations

from html import escape
from typing import Any

from .wire import Response

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>pager: {title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
button{{font-size:1.2rem;padding:.6rem 1.4rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""


def ack_page(status: int, link: Any, message: str | None) -> Response:
    """The page for `link` (an `app.serve.Link`, or None when the link is bad):
    with a button when it can still be acknowledged, else `message`."""
    parts = []
    if link is not None:
        parts.append(f"<p>Incident #{link.incident} &middot; {escape(link.service)} &middot; "
                     f"{escape(link.status)}</p><p><strong>{escape(link.title)}</strong></p>")
    if message is not None:
        parts.append(f"<p>{escape(message)}</p>")
    elif link is not None and link.status == "triggered":
        parts.append(f'<form method="post"><button type="submit">Acknowledge as {escape(link.user)}</button></form>')
    elif link is not None:
        parts.append(f"<p>Nothing to do: the incident is {escape(link.status)}.</p>")
    title = f"incident #{link.incident}" if link is not None else "ack link"
    html = _PAGE.format(title=escape(title), body="\n".join(parts))
    return Response(status, html.encode("utf-8"), "text/html; charset=utf-8",
                    [("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer")])
