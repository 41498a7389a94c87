"""The demo department's social-insurance records for people who have none.

Found by the soak (tests/test_soak.py): a synthetic resident too young to have worked
asked for a pension insurance certificate and the department answered 500 (an
IndexError on the empty contribution years); the kiosk could only say the service was
unavailable. Someone without records is refused with ``no_record`` and a sentence for
the citizen, as a real department answers."""

from __future__ import annotations

import datetime

import pytest

from govkiosk.backends.base import Applicant
from govkiosk.backends.demo_data import (
    CONTRIBUTIONS,
    PENSION_INSURANCE,
    STATEMENT,
    Refusal,
    certificate_for,
)

TODAY = datetime.date(2026, 3, 18)
CHILD = Applicant("230103201504010027", "测试丙")  # 11 years old: never worked
EARLY = Applicant("230103192201010013", "测试丁")  # retired before the records begin (1993)
WORKING = Applicant("230103198806150024", "测试戊")


@pytest.mark.parametrize("item", [CONTRIBUTIONS, PENSION_INSURANCE, STATEMENT])
@pytest.mark.parametrize("applicant", [CHILD, EARLY], ids=["child", "retired-early"])
def test_no_contribution_years_is_a_refusal_not_a_crash(item: str, applicant: Applicant) -> None:
    with pytest.raises(Refusal) as refused:
        certificate_for(item, applicant, "230100", "T-1", TODAY)
    assert refused.value.reason == "no_record"
    assert "参保缴费记录" in refused.value.message


@pytest.mark.parametrize("item", [CONTRIBUTIONS, PENSION_INSURANCE, STATEMENT])
def test_someone_who_has_worked_gets_the_record(item: str) -> None:
    department, certificate = certificate_for(item, WORKING, "230100", "T-1", TODAY)
    assert department == "hrss"
    assert certificate is not None
