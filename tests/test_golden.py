"""Every golden case shipped in rules/*.cases.yaml, one pytest test each."""
import pytest

from evaluator.scoring.cases import case_files, load_cases, run_case
from evaluator.resources import rules_dir
from evaluator.standard.loader import load_standard

CASES = [c for p in case_files([rules_dir()]) for c in load_cases(p)]
_STANDARDS = {}


def test_every_shipped_standard_has_golden_cases():
    from evaluator.standard.loader import available_standards
    with_cases = {c.standard for c in CASES}
    assert set(available_standards([rules_dir()])) <= with_cases


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_case(case):
    if case.standard not in _STANDARDS:
        _STANDARDS[case.standard] = load_standard(case.standard)
    result = run_case(case, _STANDARDS[case.standard])
    assert not result.failures, f"{case.file}:{case.line}\n" + "\n".join(result.failures)
