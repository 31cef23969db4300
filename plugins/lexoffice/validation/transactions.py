"""Vectorised validation of bank and card transactions: one boolean mask per rule over all rows.

Decisions (documented in docs/sources.md):

* a transaction counts once completed: status 'completed' with a completion time;
* card payments and other kinds without a bank counterparty (fees, interest) may lack a counterparty
  IBAN; transfers and direct debits need one. Any IBAN given must pass the mod-97 check;
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

#: Kinds that move money between two bank accounts, so the other side has an IBAN.
KINDS_NEEDING_IBAN = ("transfer", "direct_debit")

#: Texts checked for control characters, in reporting order: (column, label key).
TEXTS = (("purpose", "purpose"), ("counterparty_name", "counterparty_name"))


def validate_transactions(transactions: pd.DataFrame, *, export_since: datetime | None = None) -> pd.DataFrame:
    """Reasons per transaction: a frame indexed by transaction id with column ``reasons``."""
    require_aware("export_since", export_since)
    t = prepare_transactions(transactions)
    out = Collector()

    def value_of(series: pd.Series):
        values = series.to_numpy(dtype=object)
        return lambda row: {"value": values[row]}

    completed_at = t["completed_at"]
    completed = ((t["status"] == "completed") & completed_at.notna()).to_numpy(dtype=bool)
    status = t["status"].to_numpy(dtype=object)
    out.add(r.TXN_NOT_COMPLETED, ~completed, params=lambda row: {"status": _status_label(status[row])})
    if export_since is not None:
        since = pd.Timestamp(export_since).tz_convert("UTC")
        stamps = completed_at.to_numpy(dtype=object)
        out.add(r.TXN_BEFORE_EXPORT_SINCE, (completed_at.notna() & (completed_at < since)).to_numpy(dtype=bool),
                params=lambda row: {"completed_at": stamps[row], "export_since": export_since})
    out.add(r.TXN_ACCOUNT_NOT_OWN, ~t["account_is_own"].to_numpy(dtype=bool))
    out.add(r.TXN_CURRENCY_NOT_EUR, ~(t["currency"].str.strip().str.upper() == "EUR").to_numpy(dtype=bool),
            params=value_of(t["currency"]))
    amount = t["amount"].to_numpy(dtype=np.float64)
    out.add(r.TXN_AMOUNT_ZERO, np.isnan(amount) | (amount == 0), params=value_of(t["amount"]))
    out.add(r.TXN_AMOUNT_TOO_PRECISE, checks.too_precise(amount, 2), params=value_of(t["amount"]))
    booking_text = t["booking_date_text"].to_numpy(dtype=object)
    out.add(r.TXN_DATE_INVALID, t["booking_date"].isna().to_numpy(dtype=bool), field="booking_date",
            params=lambda row: {"which": Label("booking_date"), "value": booking_text[row]})
    value_text = t["value_date_text"].to_numpy(dtype=object)
    out.add(r.TXN_DATE_INVALID, checks.present(t["value_date_text"]) & t["value_date"].isna().to_numpy(dtype=bool),
            field="value_date", field_order=1,
            params=lambda row: {"which": Label("value_date"), "value": value_text[row]})
    iban_given = checks.present(t["counterparty_iban"])
    kind = t["kind"].to_numpy(dtype=object)
    needs_iban = t["kind"].isin(KINDS_NEEDING_IBAN).to_numpy(dtype=bool)
    out.add(r.TXN_COUNTERPARTY_IBAN_MISSING, needs_iban & ~iban_given,
            params=lambda row: {"kind": Label(str(kind[row]))})
    out.add(r.TXN_COUNTERPARTY_IBAN_INVALID, iban_given & ~checks.valid_iban(t["counterparty_iban"]),
            params=value_of(t["counterparty_iban"]))
    for order, (column, key) in enumerate(TEXTS):
        out.add(r.TXN_TEXT_CONTROL_CHARACTERS, checks.has_control_characters(t[column]), field=column,
                field_order=order, params=lambda row, key=key: {"where": Label(key)})
    return assemble(t["id"].tolist(), out.findings)


def _status_label(status: Any) -> Any:
    return Label(status) if isinstance(status, str) else status
