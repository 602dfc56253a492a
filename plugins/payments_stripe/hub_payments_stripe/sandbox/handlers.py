"""The Stripe endpoints the plugin uses, one function each: ``(sandbox, params, **path) -> obj``.

Params arrive decoded and already checked against spec3.yaml; handlers apply Stripe's business
rules (a payment method must belong to the customer, a refund cannot exceed what is left, ...)
and raise :class:`SandboxError` with Stripe's error body where Stripe would refuse.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any, Callable

from hub_payments_stripe.sandbox.objects import build, error_body, new_id

if TYPE_CHECKING:
    from hub_payments_stripe.sandbox.state import StripeSandbox

__all__ = ["match", "ROUTES"]

Handler = Callable[..., dict[str, Any]]
ROUTES: list[tuple[str, str, re.Pattern[str], Handler]] = []


def route(method: str, template: str):
    """Register a handler for ``method template`` (template as written in spec3.yaml)."""
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")

    def register(func: Handler) -> Handler:
        ROUTES.append((method, template, pattern, func))
        return func
    return register


def match(method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
    """``(template, handler, path params)`` for a request, or ``None`` (Stripe's 404)."""
    for m, template, pattern, func in ROUTES:
        found = pattern.match(path)
        if m == method and found:
            return template, func, found.groupdict()
    return None


def _error(status: int, type_: str, message: str, **kw: Any):
    from hub_payments_stripe.sandbox.state import SandboxError

    return SandboxError(status, error_body(type_, message, **kw))


def _bool(value: Any) -> bool:
    return value in ("true", True)


def _filtered_by(params: dict[str, Any], *fields: str) -> Callable[[dict[str, Any]], bool]:
    """A list endpoint's filter: objects whose ``fields`` equal the request's parameters of the
    same name; a parameter not given filters nothing (as Stripe's list filters)."""
    wanted = {field: params[field] for field in fields if params.get(field) is not None}
    return lambda o: all(o[field] == value for field, value in wanted.items())


def _meta(params: dict[str, Any]) -> dict[str, str]:
    meta = params.get("metadata") or {}
    return {k: v for k, v in meta.items() if v != ""} if isinstance(meta, dict) else {}


# ----------------------------------------------------------------------------- customers
@route("post", "/v1/customers")
def create_customer(sb: "StripeSandbox", p: dict[str, Any]) -> dict[str, Any]:
    customer = build("customer", id=new_id("cus"), created=sb.now(), email=p.get("email"),
                     name=p.get("name"), description=p.get("description"), metadata=_meta(p),
                     invoice_prefix=new_id("x")[2:9].upper())
    sb.put("customer", customer)
    if p.get("payment_method"):
        attach_payment_method(sb, {"customer": customer["id"]}, p["payment_method"])
    sb.emit("customer.created", customer)
    return customer


@route("get", "/v1/customers/{customer}")
def retrieve_customer(sb, p, customer: str):
    return sb.get("customer", customer, param="customer")


@route("post", "/v1/customers/{customer}")
def update_customer(sb, p, customer: str):
    obj = sb.get("customer", customer, param="customer")
    if "invoice_settings" in p and "default_payment_method" in p["invoice_settings"]:
        pm = p["invoice_settings"]["default_payment_method"] or None
        if pm:
            owned = sb.get("payment_method", pm, param="invoice_settings[default_payment_method]")
            if owned.get("customer") != customer:
                raise _error(400, "invalid_request_error",
                             f"The payment method {pm} does not belong to customer {customer}.",
                             code="resource_missing", param="invoice_settings[default_payment_method]")
        obj["invoice_settings"]["default_payment_method"] = pm
    for field in ("email", "name", "description"):
        if field in p:
            obj[field] = p[field] or None
    if "metadata" in p:
        obj["metadata"].update(_meta(p))
    sb.emit("customer.updated", obj)
    return obj


# ----------------------------------------------------------------------------- payment methods
@route("get", "/v1/payment_methods/{payment_method}")
def retrieve_payment_method(sb, p, payment_method: str):
    return sb.get("payment_method", payment_method, param="payment_method")


@route("post", "/v1/payment_methods/{payment_method}/attach")
def attach_payment_method(sb, p, payment_method: str):
    customer = sb.get("customer", p["customer"], param="customer")
    pm = sb.payment_method_for(payment_method)
    if pm.get("customer") not in (None, customer["id"]):
        raise _error(400, "invalid_request_error",
                     "The payment method you provided has already been attached to a customer.",
                     code="payment_method_unexpected_state")
    pm["customer"] = customer["id"]
    sb.emit("payment_method.attached", pm)
    return pm


@route("post", "/v1/payment_methods/{payment_method}/detach")
def detach_payment_method(sb, p, payment_method: str):
    pm = sb.get("payment_method", payment_method, param="payment_method")
    pm["customer"] = None
    sb.emit("payment_method.detached", pm)
    return pm


@route("get", "/v1/customers/{customer}/payment_methods")
def list_customer_payment_methods(sb, p, customer: str):
    sb.get("customer", customer, param="customer")
    kind = p.get("type")
    return sb.listing("payment_method", p, f"/v1/customers/{customer}/payment_methods",
                      lambda o: o["customer"] == customer and (kind is None or o["type"] == kind))


@route("get", "/v1/payment_methods")
def list_payment_methods(sb, p):
    return sb.listing("payment_method", p, "/v1/payment_methods",
                      _filtered_by(p, "customer", "type"))


# ----------------------------------------------------------------------------- setup intents
@route("post", "/v1/setup_intents")
def create_setup_intent(sb, p):
    if p.get("customer"):
        sb.get("customer", p["customer"], param="customer")
    si = build("setup_intent", id=new_id("seti"), created=sb.now(), customer=p.get("customer"),
               description=p.get("description"), metadata=_meta(p),
               usage=p.get("usage", "off_session"),
               payment_method_types=p.get("payment_method_types", ["card"]))
    si["client_secret"] = f"{si['id']}_secret_{new_id('x')[2:]}"
    sb.put("setup_intent", si)
    sb.emit("setup_intent.created", si)
    if p.get("payment_method"):
        si["payment_method"] = sb.payment_method_for(p["payment_method"])["id"]
        si["status"] = "requires_confirmation"
    if _bool(p.get("confirm")):
        return confirm_setup_intent(sb, {}, si["id"])
    return si


@route("get", "/v1/setup_intents/{intent}")
def retrieve_setup_intent(sb, p, intent: str):
    return sb.get("setup_intent", intent, param="intent")


@route("post", "/v1/setup_intents/{intent}/confirm")
def confirm_setup_intent(sb, p, intent: str):
    si = sb.get("setup_intent", intent, param="intent")
    if p.get("payment_method"):
        si["payment_method"] = sb.payment_method_for(p["payment_method"])["id"]
    if not si.get("payment_method"):
        raise _error(400, "invalid_request_error",
                     "You cannot confirm this SetupIntent because it's missing a payment method.",
                     code="setup_intent_unexpected_state")
    pm = sb.get("payment_method", si["payment_method"])
    card = sb.behaviour[pm["id"]]
    if card.outcome == "decline":
        si["status"] = "requires_payment_method"
        si["last_setup_error"] = {"type": "card_error", "code": "card_declined",
                                  "decline_code": card.decline_code, "message": card.message}
        sb.emit("setup_intent.setup_failed", si)
        raise _error(402, "card_error", card.message, code="card_declined",
                     decline_code=card.decline_code, setup_intent=copy.deepcopy(si))
    si["status"] = "succeeded"
    if si.get("customer"):
        attach_payment_method(sb, {"customer": si["customer"]}, pm["id"])
    sb.emit("setup_intent.succeeded", si)
    return si


# ----------------------------------------------------------------------------- payment intents
@route("post", "/v1/payment_intents")
def create_payment_intent(sb, p):
    if p.get("customer"):
        sb.get("customer", p["customer"], param="customer")
    if _bool(p.get("off_session")) and not _bool(p.get("confirm")):
        raise _error(400, "invalid_request_error",
                     "off_session can only be used with confirm=true.", param="off_session")
    amount = int(p["amount"])
    if amount < 1:
        raise _error(400, "invalid_request_error", "Amount must be at least 1 unit.",
                     code="amount_too_small", param="amount")
    pi = build("payment_intent", id=new_id("pi"), created=sb.now(), amount=amount,
               currency=p["currency"].lower(), customer=p.get("customer"),
               description=p.get("description"), metadata=_meta(p), canceled_at=None,
               statement_descriptor_suffix=p.get("statement_descriptor_suffix"),
               payment_method_types=p.get("payment_method_types", ["card"]))
    pi["client_secret"] = f"{pi['id']}_secret_{new_id('x')[2:]}"
    if p.get("payment_method"):
        pi["payment_method"] = sb.payment_method_for(p["payment_method"])["id"]
        pi["status"] = "requires_confirmation"
    sb.put("payment_intent", pi)
    sb.emit("payment_intent.created", pi)
    if _bool(p.get("confirm")):
        return _confirm(sb, pi, off_session=_bool(p.get("off_session")))
    return pi


@route("get", "/v1/payment_intents/{intent}")
def retrieve_payment_intent(sb, p, intent: str):
    return sb.get("payment_intent", intent, param="intent")


@route("post", "/v1/payment_intents/{intent}/confirm")
def confirm_payment_intent(sb, p, intent: str):
    pi = sb.get("payment_intent", intent, param="intent")
    if pi["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        raise _error(400, "invalid_request_error",
                     f"This PaymentIntent's status is {pi['status']}, so it cannot be confirmed.",
                     code="payment_intent_unexpected_state",
                     payment_intent=copy.deepcopy(pi))
    if p.get("payment_method"):
        pi["payment_method"] = sb.payment_method_for(p["payment_method"])["id"]
    return _confirm(sb, pi, off_session=_bool(p.get("off_session")))


@route("get", "/v1/payment_intents")
def list_payment_intents(sb, p):
    return sb.listing("payment_intent", p, "/v1/payment_intents", _filtered_by(p, "customer"))


def _confirm(sb: "StripeSandbox", pi: dict[str, Any], *, off_session: bool) -> dict[str, Any]:
    if not pi.get("payment_method"):
        raise _error(400, "invalid_request_error",
                     "You cannot confirm this PaymentIntent because it's missing a payment method.",
                     code="payment_intent_unexpected_state", payment_intent=copy.deepcopy(pi))
    pm = sb.get("payment_method", pi["payment_method"])
    if pi.get("customer") and pm.get("customer") != pi["customer"]:
        raise _error(400, "invalid_request_error",
                     f"The provided PaymentMethod {pm['id']} does not belong to the customer "
                     f"{pi['customer']}; attach it first.", param="payment_method")
    card = sb.behaviour[pm["id"]]
    if card.outcome == "authenticate" and not off_session:
        pi["status"] = "requires_action"
        pi["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
        sb.emit("payment_intent.requires_action", pi)
        return pi
    if card.outcome in ("decline", "authenticate"):
        code = "authentication_required" if card.outcome == "authenticate" else "card_declined"
        charge = _charge(sb, pi, pm, status="failed", failure_code=code,
                         failure_message=card.message)
        error = {"type": "card_error", "code": code, "decline_code": card.decline_code,
                 "message": card.message, "charge": charge["id"],
                 "payment_method": copy.deepcopy(pm)}
        pi.update(status="requires_payment_method", last_payment_error=error,
                  latest_charge=charge["id"], next_action=None)
        sb.emit("charge.failed", charge)
        sb.emit("payment_intent.payment_failed", pi)
        raise _error(402, "card_error", card.message, code=code, decline_code=card.decline_code,
                     charge=charge["id"], payment_intent=copy.deepcopy(pi),
                     payment_method=copy.deepcopy(pm))
    if card.outcome == "process":
        charge = _charge(sb, pi, pm, status="pending")
        pi.update(status="processing", latest_charge=charge["id"], last_payment_error=None,
                  next_action=None)
        sb.emit("charge.pending", charge)
        sb.emit("payment_intent.processing", pi)
        return pi
    charge = _charge(sb, pi, pm, status="succeeded")
    pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge["id"],
              last_payment_error=None, next_action=None)
    sb.emit("charge.succeeded", charge)
    sb.emit("payment_intent.succeeded", pi)
    return pi


def _charge(sb, pi, pm, *, status: str, failure_code: str | None = None,
            failure_message: str | None = None) -> dict[str, Any]:
    details = {"type": pm["type"], pm["type"]: copy.deepcopy(pm.get(pm["type"]))}
    paid = status == "succeeded"
    charge = build("charge", id=new_id("ch"), created=sb.now(), amount=pi["amount"],
                   amount_captured=pi["amount"] if paid else 0, amount_refunded=0,
                   captured=paid, paid=paid, status=status, currency=pi["currency"],
                   customer=pi["customer"], payment_intent=pi["id"], payment_method=pm["id"],
                   # Stripe does not copy a PaymentIntent's metadata onto its charges.
                   payment_method_details=details, metadata={},
                   description=pi.get("description"), refunded=False, disputed=False,
                   failure_code=failure_code, failure_message=failure_message,
                   balance_transaction=new_id("txn") if paid else None, receipt_url=None,
                   billing_details=copy.deepcopy(pm["billing_details"]))
    charge["refunds"] = {"object": "list", "data": [], "has_more": False,
                         "url": f"/v1/charges/{charge['id']}/refunds"}
    return sb.put("charge", charge)


# ----------------------------------------------------------------------------- charges
@route("get", "/v1/charges/{charge}")
def retrieve_charge(sb, p, charge: str):
    return sb.get("charge", charge, param="charge")


@route("get", "/v1/charges")
def list_charges(sb, p):
    return sb.listing("charge", p, "/v1/charges", _filtered_by(p, "customer", "payment_intent"))


# ----------------------------------------------------------------------------- refunds
@route("post", "/v1/refunds")
def create_refund(sb, p):
    if p.get("payment_intent"):
        pi = sb.get("payment_intent", p["payment_intent"], param="payment_intent")
        if pi["status"] != "succeeded" or not pi.get("latest_charge"):
            raise _error(400, "invalid_request_error",
                         f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                         code="charge_not_refundable", param="payment_intent")
        charge = sb.get("charge", pi["latest_charge"])
    elif p.get("charge"):
        charge = sb.get("charge", p["charge"], param="charge")
    else:
        raise _error(400, "invalid_request_error",
                     "One of the following params should be provided for this request: "
                     "payment_intent or charge.", code="parameter_missing")
    left = charge["amount_captured"] - charge["amount_refunded"]
    amount = int(p.get("amount", left))
    if left <= 0:
        raise _error(400, "invalid_request_error",
                     f"Charge {charge['id']} has already been refunded.",
                     code="charge_already_refunded")
    if amount < 1 or amount > left:
        raise _error(400, "invalid_request_error",
                     f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                     code="amount_too_large", param="amount")
    status = "pending" if sb.behaviour[charge["payment_method"]].pm_type != "card" else "succeeded"
    refund = build("refund", id=new_id("re"), created=sb.now(), amount=amount,
                   currency=charge["currency"], charge=charge["id"],
                   payment_intent=charge["payment_intent"], metadata=_meta(p),
                   reason=p.get("reason"), status=status,
                   balance_transaction=new_id("txn"))
    sb.put("refund", refund)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    charge["refunds"]["data"].insert(0, refund)
    sb.emit("refund.created", refund)
    sb.emit("charge.refunded", charge)
    return refund


@route("get", "/v1/refunds/{refund}")
def retrieve_refund(sb, p, refund: str):
    return sb.get("refund", refund, param="refund")


@route("get", "/v1/refunds")
def list_refunds(sb, p):
    return sb.listing("refund", p, "/v1/refunds", _filtered_by(p, "charge", "payment_intent"))


# ----------------------------------------------------------------------------- disputes
@route("get", "/v1/disputes/{dispute}")
def retrieve_dispute(sb, p, dispute: str):
    return sb.get("dispute", dispute, param="dispute")


@route("get", "/v1/disputes")
def list_disputes(sb, p):
    return sb.listing("dispute", p, "/v1/disputes", _filtered_by(p, "charge", "payment_intent"))
