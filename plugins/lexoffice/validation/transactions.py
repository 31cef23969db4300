"""Vectorised validation of bank and card transactions: one boolean mask per rule over all rows.

Decisions (documented in docs/sources.md):

* a transaction counts once completed: status 'completed' with a completion time;
* the counterparty IBAN is optional: a transfer whose bank did not report it is sent without it (the
  finance API does not require it); an IBAN that is given must pass the mod-97 check;
* control characters in purpose and counterparty name are cleaned when the payload is built, not held:
  the bank's customer cannot fix what the payment carried (``payloads.printable``);
* amounts are judged on the source's own digits: a finite number, at most 2 decimals, at most
  ``MAX_AMOUNT`` in size, so that the JSON number sent is exactly the source's amount;
* the account must be in EUR and, unless it is a card account, have a valid IBAN;
* ``export_since`` compares with the completion time: the windows use the same cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from lexoffice.source.frames import prepare_transactions
from lexoffice.source.timestamps import require_aware
from lexoffice.validation import checks
from lexoffice.validation import reasons as r
from lexoffice.validation.findings import Collector, assemble
from lexoffice.validation.reasons import Label
from lexoffice.validation.source_rules import add_source_rules

#: Kinds that move money between two bank accounts, so the other side usually has an IBAN.
KINDS_NEEDING_IBAN = ("transfer", "direct_debit")

#: Texts checked for control characters, in reporting order: (column, label key). Since the payload cleans
#: them (``payloads.printable``) no rule reports them any more; kept for the reason catalogue's history.
TEXTS = (("purpose", "purpose"), ("counterparty_name", "counterparty_name"))

#: Largest amount sent: with 2 decimals it has 11 significant digits, far inside float64's exact 15, so
#: the JSON number is exactly the source's amount. Lexware does not document a limit; no business account
#: moves a billion euros in one transaction.
MAX_AMOUNT = 999_999_999.99

#: Longest purpose sent. Lexware documents no limit for the finance API; 2000 is its limit for long texts
#: (remark, introduction), and a SEPA purpose has at most 140 characters, so only broken data reaches it.
MAX_PURPOSE = 2000

#: Timestamps read from the source, checked for values that are no time: (column, label key). ``updated_at``
#: is not checked: it only orders transactions that never completed, and a bad one harms nothing else.
STAMPS = (("completed_at", "completed_at"),)

#: Source ids that become keys and references: (column, reported field).
IDS = (("id", "id"), ("account_id", "account_id"))


def validate_transactions(transactions: pd.DataFrame, *, export_since: datetime | None = None) -> pd.DataFrame:
    """Reasons per transaction: a frame indexed by transaction id with column ``reasons``."""
    require_aware("export_since", export_since)
    t = prepare_transactions(transactions)
    out = Collector()

    def value_of(series: pd.Series):
        values = series.to_numpy(dtype=object)
        return lambda row: {"value": values[row]}

    unparsed = add_source_rules(t, out, ids=IDS, stamps=STAMPS)
    completed_at = t["completed_at"]
    completed = ((t["status"] == "completed") & completed_at.notna()).to_numpy(dtype=bool)
    status = t["status"].to_numpy(dtype=object)
    out.add(r.TXN_NOT_COMPLETED, ~completed & ~unparsed["completed_at"],
            params=lambda row: {"status": _status_label(status[row])})
    if export_since is not None:
        since = pd.Timestamp(export_since).tz_convert("UTC")
        stamps = completed_at.to_numpy(dtype=object)
        out.add(r.TXN_BEFORE_EXPORT_SINCE, (completed_at.notna() & (completed_at < since)).to_numpy(dtype=bool),
                params=lambda row: {"completed_at": stamps[row], "export_since": export_since})
    out.add(r.TXN_ACCOUNT_NOT_OWN, ~t["account_is_own"].to_numpy(dtype=bool))
    out.add(r.TXN_ACCOUNT_CURRENCY_NOT_EUR, ~_is_eur(t["account_currency"]), params=value_of(t["account_currency"]))
    account_iban_given = checks.present(t["account_iban"])
    is_card = (t["account_kind"] == "card").to_numpy(dtype=bool)
    out.add(r.TXN_ACCOUNT_IBAN_MISSING, ~account_iban_given & ~is_card)
    out.add(r.TXN_ACCOUNT_IBAN_INVALID, account_iban_given & ~checks.valid_iban(t["account_iban"]),
            params=value_of(t["account_iban"]))
    out.add(r.TXN_CURRENCY_NOT_EUR, ~_is_eur(t["currency"]), params=value_of(t["currency"]))
    amount = t["amount"].to_numpy(dtype=np.float64)
    invalid = checks.not_a_number(t["amount_text"], amount)
    out.add(r.TXN_AMOUNT_INVALID, invalid, params=lambda row: {"value": checks.shown_number(t["amount_text"].iat[row])})
    out.add(r.TXN_AMOUNT_ZERO, ~invalid & (np.isnan(amount) | (amount == 0)), params=value_of(t["amount"]))
    with np.errstate(invalid="ignore"):
        too_large = np.isfinite(amount) & (np.abs(amount) > MAX_AMOUNT)
    out.add(r.TXN_AMOUNT_OUT_OF_RANGE, too_large,
            params=lambda row: {"value": amount[row], "limit": MAX_AMOUNT})
    out.add(r.TXN_AMOUNT_TOO_PRECISE, ~invalid & checks.too_many_places(t["amount_text"], amount, 2),
            params=value_of(t["amount_text"]))
    booking_text = t["booking_date_text"].to_numpy(dtype=object)
    out.add(r.TXN_DATE_INVALID, t["booking_date"].isna().to_numpy(dtype=bool), field="booking_date",
            params=lambda row: {"which": Label("booking_date"), "value": booking_text[row]})
    value_text = t["value_date_text"].to_numpy(dtype=object)
    out.add(r.TXN_DATE_INVALID, checks.present(t["value_date_text"]) & t["value_date"].isna().to_numpy(dtype=bool),
            field="value_date", field_order=1,
            params=lambda row: {"which": Label("value_date"), "value": value_text[row]})
    iban_given = checks.present(t["counterparty_iban"])
    out.add(r.TXN_COUNTERPARTY_IBAN_INVALID, iban_given & ~checks.valid_iban(t["counterparty_iban"]),
            params=value_of(t["counterparty_iban"]))
    purpose_length = checks.text_length(t["purpose"])
    out.add(r.TXN_PURPOSE_TOO_LONG, purpose_length > MAX_PURPOSE,
            params=lambda row: {"length": purpose_length[row], "limit": MAX_PURPOSE})
    return assemble(t["id"].tolist(), out.findings)


def _is_eur(series: pd.Series) -> np.ndarray:
    return (series.str.strip().str.upper() == "EUR").to_numpy(dtype=bool)


def _status_label(status: Any) -> Any:
    return Label(status) if isinstance(status, str) else status
