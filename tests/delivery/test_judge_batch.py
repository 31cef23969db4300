"""The strict reading of ``latest-transaction`` for one unknown batch (pure function, every branch)."""

from __future__ import annotations

import pytest

from lexoffice.delivery.grace import DEFAULT_CONFIRM_GRACE_SECONDS, confirm_grace_seconds
from lexoffice.delivery.reconcile import judge_unknown_batch

BATCH = ["t1", "t2", "t3"]


def latest(ref: str | None, lexware_id: str = "lx-9") -> dict[str, str | None]:
    return {"externalReference": ref, "financialTransactionId": lexware_id}


def test_latest_is_the_batch_last_transaction_so_all_of_it_landed() -> None:
    verdict = judge_unknown_batch(latest("t3"), BATCH, last_sent_ref="t0")
    assert (verdict.landed, verdict.latest_id) == (True, "lx-9")


@pytest.mark.parametrize(("answer", "last_sent"), [(None, None), (None, "t0"), (latest("t0"), "t0")])
def test_nothing_on_the_account_or_our_last_push_means_none_of_it_landed(answer: dict | None,
                                                                         last_sent: str | None) -> None:
    assert judge_unknown_batch(answer, BATCH, last_sent_ref=last_sent).landed is False


@pytest.mark.parametrize(("answer", "why"), [
    (latest("csv-import-1"), "another writer"),  # a CSV import or a second integration
    (latest(None), "another writer"),
    (latest("t2"), "not its last one"),  # a partial batch?
    (latest("t-older"), "another writer"),  # one of ours, but not the last we recorded
])
def test_any_other_answer_is_ambiguous_and_says_why(answer: dict, why: str) -> None:
    verdict = judge_unknown_batch(answer, BATCH, last_sent_ref="t0")
    assert verdict.landed is None and why in verdict.why


def test_grace_extra_is_parsed_with_a_clear_error() -> None:
    assert confirm_grace_seconds(None) == DEFAULT_CONFIRM_GRACE_SECONDS == 900
    assert confirm_grace_seconds("2.5") == 2.5
    with pytest.raises(ValueError, match="confirm_grace_seconds' must be a number of seconds"):
        confirm_grace_seconds("soon")
    with pytest.raises(ValueError, match="must not be negative"):
        confirm_grace_seconds(-1)
