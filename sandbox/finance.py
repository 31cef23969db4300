"""Partner finance API: financial accounts and pushed bank/card transactions.

UNVERIFIED: the partner documentation was not available. Paths, field names (note the lower-case
``transactiondate`` on create), the 25-item batch limit and the date format follow the community client
described in ../shared/reference/lexware-api.md §10.2. Errors use the regular body (also unverified). Like the
real API as far as we know, nothing here de-duplicates by ``externalReference``.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.clock import parse_finance_datetime
from sandbox.errors import Violation
from sandbox.jsonbody import decimal_places, is_number, plain

ACCOUNT_TYPES = ("GIRO", "SAVINGS", "FIXEDTERM", "SECURITIES", "LOAN", "CREDITCARD", "CASH", "PAYMENT_PROVIDER")
MAX_BATCH = 25
IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
REQUIRED_TEXT = ("purpose", "recipientOrSenderName", "financialAccountId", "externalReference")
OPTIONAL_TEXT = ("additionalInfo", "recipientOrSenderIban", "recipientOrSenderBic", "recipientOrSenderEmail",
                 "feePostingCategoryId")
DATE_FIELDS = ("valueDate", "bookingDate", "transactiondate")


def normalise_iban(value: str) -> str:
    return value.replace(" ", "").upper()


def account_violations(body: Any) -> list[Violation]:
    if not isinstance(body, dict):
        return [Violation("financialAccount", "TYPE", "must be a JSON object")]
    violations = []
    account_id = body.get("financialAccountId")
    if account_id is not None and not (isinstance(account_id, str) and UUID.fullmatch(account_id)):
        violations.append(Violation("financialAccountId", "INVALID_VALUE", "must be a UUID"))
    if body.get("type") not in ACCOUNT_TYPES:
        violations.append(Violation("type", "NOTNULL" if body.get("type") is None else "INVALID_VALUE",
                                    f"must be one of {', '.join(ACCOUNT_TYPES)}"))
    for key in ("accountSystem", "name"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            violations.append(Violation(key, "NOTNULL", "must not be empty"))
    for key in ("bankName", "externalReference", "iban"):
        if body.get(key) is not None and not isinstance(body[key], str):
            violations.append(Violation(key, "TYPE", "must be a string"))
    iban = body.get("iban")
    if isinstance(iban, str) and not IBAN.fullmatch(normalise_iban(iban)):
        violations.append(Violation("iban", "PATTERN", "not an IBAN"))
    return violations


def build_account(body: dict[str, Any], account_id: str, organization_id: str, now: str) -> dict[str, Any]:
    iban = body.get("iban")
    return plain({
        "financialAccountId": account_id, "organizationId": organization_id, "type": body["type"],
        "accountSystem": body["accountSystem"], "name": body["name"], "bankName": body.get("bankName"),
        "iban": normalise_iban(iban) if isinstance(iban, str) else None,
        "externalReference": body.get("externalReference"), "accountHolder": body.get("accountHolder"),
        "balance": None, "connected": True, "deactivated": False, "synchronizable": True,
        "lockVersion": 0, "createdDate": now, "lastModifiedDate": now,
    })


def transaction_violations(body: Any, account_exists: Any) -> list[Violation]:
    """Violations of a whole batch; ``account_exists(id)`` says whether the account is in this organisation."""
    if not isinstance(body, list):
        return [Violation("transactions", "TYPE", "must be a JSON array")]
    if not 1 <= len(body) <= MAX_BATCH:
        return [Violation("transactions", "SIZE", f"only 1 to {MAX_BATCH} transactions allowed per request")]
    violations: list[Violation] = []
    for index, item in enumerate(body):
        violations += _item_violations(f"[{index}]", item, account_exists)
    return violations


def _item_violations(path: str, item: Any, account_exists: Any) -> list[Violation]:
    if not isinstance(item, dict):
        return [Violation(path, "TYPE", "must be a JSON object")]
    violations = []
    item = _with_lowercase_transactiondate(item)
    for key in DATE_FIELDS:
        if item.get(key) is None:
            violations.append(Violation(f"{path}.{key}", "NOTNULL", "must not be null"))
        elif parse_finance_datetime(item[key]) is None:
            violations.append(Violation(f"{path}.{key}", "PATTERN", "must match yyyy-MM-ddTHH:mm:ssXXX"))
    for key in REQUIRED_TEXT:
        if not isinstance(item.get(key), str) or (key != "purpose" and not item[key].strip()):
            violations.append(Violation(f"{path}.{key}", "NOTNULL", "must not be empty"))
    for key in OPTIONAL_TEXT:
        if item.get(key) is not None and not isinstance(item[key], str):
            violations.append(Violation(f"{path}.{key}", "TYPE", "must be a string"))
    amount = item.get("amount")
    if not is_number(amount):
        violations.append(Violation(f"{path}.amount", "NOTNULL", "must be a number"))
    elif Decimal(amount) == 0:
        violations.append(Violation(f"{path}.amount", "INVALID_VALUE", "must not be zero"))
    elif decimal_places(Decimal(amount)) > 2:
        violations.append(Violation(f"{path}.amount", "DIGITS", "at most 2 decimals"))
    fee = item.get("feeAmount")
    if fee is not None and (not is_number(fee) or decimal_places(Decimal(fee)) > 2):
        violations.append(Violation(f"{path}.feeAmount", "DIGITS", "must be a number with at most 2 decimals"))
    account_id = item.get("financialAccountId")
    if isinstance(account_id, str) and account_id.strip() and not account_exists(account_id):
        violations.append(Violation(f"{path}.financialAccountId", "INVALID_REFERENCE", "financial account not found"))
    return violations


def _with_lowercase_transactiondate(item: dict[str, Any]) -> dict[str, Any]:
    """Accept ``transactionDate`` too: one [PIRA] fixture sends it, and the real casing is unconfirmed."""
    if "transactiondate" not in item and "transactionDate" in item:
        return {**item, "transactiondate": item["transactionDate"]}
    return item


def build_transaction(item: dict[str, Any], transaction_id: str, organization_id: str, now: str) -> dict[str, Any]:
    item = _with_lowercase_transactiondate(item)
    amount = Decimal(item["amount"])
    return plain({
        "financialTransactionId": transaction_id, "organizationId": organization_id,
        "valueDate": _with_millis(item["valueDate"]), "bookingDate": _with_millis(item["bookingDate"]),
        "transactionDate": _with_millis(item["transactiondate"]), "bookingText": None,
        "purpose": item["purpose"], "amount": amount, "openAmount": amount,
        "amountAsString": _german_amount(amount), "openAmountAsString": _german_amount(amount),
        "additionalInfo": item.get("additionalInfo"), "state": None,
        "recipientOrSenderName": item["recipientOrSenderName"],
        "recipientOrSenderEmail": item.get("recipientOrSenderEmail"),
        "recipientOrSenderIban": item.get("recipientOrSenderIban"),
        "recipientOrSenderBic": item.get("recipientOrSenderBic"),
        "financialAccountId": item["financialAccountId"], "virtualAccountId": None,
        "externalReference": item["externalReference"], "endToEndId": item.get("endToEndId"),
        "ignore": False, "ignoreReason": None, "lockVersion": 0,
        "feeAmount": item.get("feeAmount"), "feeTaxRatePercentage": item.get("feeTaxRatePercentage"),
        "feePostingCategoryId": item.get("feePostingCategoryId"),
        "createdDate": now, "lastModifiedDate": now,
    })


def _with_millis(value: str) -> str:
    """Responses carry ``.000`` although requests must not (as in the [PIRA] fixtures)."""
    return datetime.fromisoformat(value).isoformat(timespec="milliseconds")


def _german_amount(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")
