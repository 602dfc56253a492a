"""Check request bodies against Intuit's own entity schemas (the XSDs of the Java SDK).

The JSON API carries the XSD's elements: an object's keys are child elements or attributes of
its type, a reference (``ReferenceType``, simple content) is ``{"value": ..., "name": ...}``,
a repeated element is a list. So a JSON body is turned into the XML element tree it stands for,
guided by the schema (children put in the schema's order, ``value`` as text, other keys of a
simple-content type as attributes), and that tree is validated by :mod:`xmlschema`.

What the XSD alone would let through and real QuickBooks drops or refuses is made an error too:

- a key that is neither a child element nor an attribute of its type (a misspelt field is
  silently ignored by QuickBooks: a bug we want to see);
- a read-only field: those the XSD annotates ``InputType: ReadOnly`` (for QBO or ALL) or
  describes as "read only", plus the calculated ones Intuit's API reference lists
  (:data:`READ_ONLY`);
- ``Id``/``SyncToken`` on a create, or missing on an update, delete or void;
- a float anywhere (amounts travel as exact decimals).
"""

from __future__ import annotations

import functools
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import xmlschema

__all__ = ["XsdChecker", "load_checker", "xsd_path", "READ_ONLY", "PACKAGED_DIR"]

NS = "http://schema.intuit.com/finance/v3"
_ROOT_FILE = "IntuitRestServiceDef.xsd"
#: Intuit's XSDs byte for byte as intuit/QuickBooks-V3-Java-SDK publishes them (Apache-2.0, see
#: ``specs/LICENSE`` and ``specs/SOURCE.md``), shipped so that a clone anywhere can test.
PACKAGED_DIR = Path(__file__).with_name("specs")

#: Calculated fields Intuit's API reference marks read-only that the XSD does not annotate.
READ_ONLY: dict[str, frozenset[str]] = {
    "Invoice": frozenset({"TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt"}),
    "CreditMemo": frozenset({"TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt",
                             "RemainingCredit"}),
    "Payment": frozenset({"UnappliedAmt", "HomeTotalAmt"}),
    "Customer": frozenset({"Balance", "BalanceWithJobs", "FullyQualifiedName", "Level"}),
}
_READ_ONLY_NOTE = re.compile(r"InputType:\s*(?:(?:ALL|QBO)\s*:\s*)?ReadOnly|\bread only\b",
                             re.IGNORECASE)
_UPDATE_OPERATIONS = frozenset({"update", "delete", "void"})


def xsd_path() -> Path:
    """Where Intuit's XSDs are: ``HUB_QUICKBOOKS_XSD_DIR`` or the packaged copy."""
    return Path(os.environ.get("HUB_QUICKBOOKS_XSD_DIR") or PACKAGED_DIR) / _ROOT_FILE


def _text(value: Any, where: str, problems: list[str]) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        problems.append(f"{where}: float {value!r}; amounts must be exact decimals")
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (int, str)):
        return str(value)
    problems.append(f"{where}: expected a single value, got {type(value).__name__}")
    return None


class XsdChecker:
    """Validates JSON entities (and batch envelopes) against the QuickBooks XSDs."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.schema = xmlschema.XMLSchema(str(path or xsd_path()))

    @functools.cache
    def _read_only(self, decl: Any) -> bool:
        annotation = getattr(decl, "annotation", None)
        text = " ".join(str(d.text or "") for d in (annotation.documentation if annotation else []))
        return bool(_READ_ONLY_NOTE.search(text))

    def _children(self, xtype: Any) -> dict[str, tuple[int, Any]]:
        return {c.local_name: (i, c) for i, c in enumerate(xtype.content.iter_elements())}

    def _member(self, name: str, children: dict[str, tuple[int, Any]]) -> tuple[int, Any] | None:
        """A global element that substitutes for one of ``children`` (``IntuitObject``)."""
        decl = self.schema.elements.get(name)
        head = getattr(decl, "substitution_group", None)
        if decl is None or head is None:
            return None
        head_local = head.split("}")[-1]
        return (children[head_local][0], decl) if head_local in children else None

    def _build(self, decl: Any, value: Any, where: str, problems: list[str],
               entity: str | None) -> Element:
        element = Element(decl.name)
        xtype = decl.type
        if xtype.is_simple():
            element.text = _text(value, where, problems)
            return element
        if xtype.has_simple_content():
            if not isinstance(value, dict):
                problems.append(f"{where}: expected an object like {{\"value\": ...}}")
                return element
            for key, item in value.items():
                if key == "value":
                    element.text = _text(item, f"{where}.value", problems)
                elif key in xtype.attributes:
                    element.set(key, _text(item, f"{where}.{key}", problems) or "")
                else:
                    problems.append(f"{where}.{key}: not a field of {xtype.local_name}")
            return element
        if not isinstance(value, dict):
            problems.append(f"{where}: expected an object ({xtype.local_name})")
            return element
        children = self._children(xtype)
        ordered: list[tuple[int, Element]] = []
        for key, item in value.items():
            path = f"{where}.{key}"
            if key in xtype.attributes:
                element.set(key, _text(item, path, problems) or "")
                continue
            found = children.get(key) or self._member(key, children)
            if found is None:
                problems.append(f"{path}: not a field of {xtype.local_name}")
                continue
            index, child = found
            if entity and key in READ_ONLY.get(entity, ()) and where == entity:
                problems.append(f"{path}: read-only in QuickBooks (calculated)")
            elif self._read_only(child):
                problems.append(f"{path}: read-only in QuickBooks")
            child_entity = key if key in READ_ONLY or self.schema.elements.get(key) else entity
            for n, part in enumerate(item if isinstance(item, list) else [item]):
                label = f"{path}[{n}]" if isinstance(item, list) else path
                ordered.append((index, self._build(child, part, label, problems, child_entity)))
        for _, child_element in sorted(ordered, key=lambda pair: pair[0]):
            element.append(child_element)
        return element

    def entity_errors(self, entity: str, body: Any, operation: str = "create", *,
                      validate: bool = True) -> list[str]:
        """Every way ``body`` (one ``entity`` as JSON) breaks the XSD or the write rules
        (``validate=False``: the write rules and unknown fields only, for a caller that
        validates a tree holding this entity itself)."""
        decl = self.schema.elements.get(entity)
        if decl is None:
            return [f"{entity} is not an entity of the QuickBooks Online API"]
        problems: list[str] = []
        if not isinstance(body, dict):
            return [f"{entity}: the body must be a JSON object"]
        if operation == "create":
            problems += [f"{entity}.{k}: not allowed on a create" for k in ("Id", "SyncToken")
                         if k in body]
        elif operation in _UPDATE_OPERATIONS:
            problems += [f"{entity}.{k}: required to {operation}" for k in ("Id", "SyncToken")
                         if k not in body]
        tree = self._build(decl, body, entity, problems, entity)
        if validate:
            problems += self._validate(tree)
        return problems

    def batch_errors(self, body: Any) -> list[str]:
        """Every problem of a ``POST /batch`` body: the envelope and each entity in it."""
        if not isinstance(body, dict) or not isinstance(body.get("BatchItemRequest"), list):
            return ["batch: the body must be {\"BatchItemRequest\": [...]}"]
        problems: list[str] = []
        for n, item in enumerate(body["BatchItemRequest"]):
            if not isinstance(item, dict):
                problems.append(f"BatchItemRequest[{n}]: must be an object")
                continue
            entities = [k for k in item if k not in ("bId", "operation", "optionsData", "Query")]
            for key in entities:
                problems += [f"BatchItemRequest[{n}].{p}" for p in self.entity_errors(
                    key, item[key], item.get("operation", "create"), validate=False)]
        # the entities' own rules were checked above; the XSD checks envelope and entities at
        # once (the field problems found while building are already listed)
        tree = self._build(self.schema.elements["IntuitBatchRequest"], body, "batch", [], None)
        return problems + self._validate(tree)

    def _validate(self, tree: Element) -> list[str]:
        return [f"XSD: {error.reason} (at {error.path})"
                for error in self.schema.iter_errors(tree)]


@functools.cache
def load_checker(path: str | None = None) -> XsdChecker:
    """The checker for the QuickBooks XSDs (parsed once per process)."""
    return XsdChecker(path)
