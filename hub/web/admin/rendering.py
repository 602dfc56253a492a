"""Templates: one Jinja2 environment for the pages, with filters for money and dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from hub.core.money import shown_figure
from hub.web.admin.paths import PREFIX
from hub.web.admin.once import new_key

__all__ = ["render", "error_page", "templates", "NAVIGATION", "page_url"]

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))

#: The navigation bar: (path under /admin, label). Every page is reachable from here.
NAVIGATION = (
    ("/", "Home"), ("/runs", "Billing runs"), ("/invoices", "Invoices"),
    ("/credit-notes", "Credit notes"), ("/payments", "Payments"),
    ("/organisations", "Organisations"), ("/findings", "Reconciliation"),
    ("/jobs", "Jobs"), ("/connections", "Connections"), ("/audit", "Audit"),
    ("/users", "Users"),
)


def _money(value: Any, currency: str | None = None) -> str:
    """``1234.5`` → ``1,234.50 USD``: in the currency's minor unit (``1,500 JPY``) with its
    code; without a currency, two places. Exact: never rounds a finer unit price away."""
    if value is None or value == "":
        return ""
    if currency:
        return f"{_amount(value, currency)} {currency}"
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{amount.quantize(Decimal('0.01')):,}"


def _amount(value: Any, currency: str) -> str:
    """A figure in a table or line whose currency is shown elsewhere on the page: grouped, in
    ``currency``'s minor unit, a finer unit price as it is (``0.0125``); see
    :func:`hub.core.money.shown_figure`."""
    if value is None or value == "":
        return ""
    return shown_figure(value if isinstance(value, Decimal) else Decimal(str(value)), currency)


def _field_amount(value: Any, currency: str) -> str:
    """An amount as a form field's starting value: in ``currency``'s minor unit and without
    grouping (``1234.50``, ``1500`` JPY), as the clerk would type it; the stored figure has
    four places (``1234.5000``), which a money form must not put in front of the clerk."""
    if value is None or value == "":
        return ""
    return _amount(value, currency).replace(",", "")


def _quantity(value: Any) -> str:
    """A quantity without trailing zeros: ``3.0000`` → ``3``."""
    if value is None:
        return ""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    text = format(amount.normalize(), "f")
    return text


def _when(value: Any) -> str:
    """A moment as the pages show it, ``2026-12-04 19:43``; also an ISO text (a connection's
    last pull and push come as ``2026-12-04T19:43:53.065298+00:00``). Other text as it is."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _path_part(value: Any) -> str:
    """``value`` as one segment of a URL path: ``a/b?c`` → ``a%2Fb%3Fc`` (Jinja's ``urlencode``
    leaves ``/`` as it is, which would split a username into two segments)."""
    return quote(str(value), safe="")


def page_url(request: Request, **changes: Any) -> str:
    """This page's URL with query parameters changed (for pagers and filters)."""
    params = dict(request.query_params)
    params.update({k: v for k, v in changes.items() if v is not None})
    return f"{request.url.path}?{urlencode(params)}"


templates.env.filters.update(money=_money, amount=_amount, field_amount=_field_amount,
                             qty=_quantity, when=_when, path_part=_path_part)
# once_key(): a money form's fresh one-time key, made as the form is rendered (see once.py).
templates.env.globals.update(NAVIGATION=NAVIGATION, page_url=page_url, once_key=new_key)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render template ``name`` with the user, CSRF token and navigation available."""
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    context.setdefault("flash", request.query_params.get("done"))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _back_to(request: Request) -> str:
    """Where a refusal's "Go back" link leads without JavaScript: the admin page the request
    came from (the form's page), else home. With JavaScript the link goes back in the
    history instead, where the browser keeps what was typed into the form."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith(f"{PREFIX}/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return f"{PREFIX}/"


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    """A page that says what went wrong and what to do (used for every refusal)."""
    if request.headers.get("HX-Request"):
        # A partial update shows the message where the fragment would have gone.
        return render(request, "_error.html", status_code=200, title=title, message=message)
    return render(request, "error.html", status_code=status_code, title=title, message=message,
                  back=_back_to(request))
