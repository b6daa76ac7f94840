"""Metrics: Wilson intervals (against a bisection of their definition), a / a_p / a_r, failure causes."""
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vlmdiag.eval.metrics import Z95, accuracies, breakdown, compute_metrics, failure_attribution, wilson


def wilson_by_bisection(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson interval is {p : |k/n - p| <= z sqrt(p(1-p)/n)}; find its ends numerically."""
    phat = k / n

    def inside(p: float) -> bool:
        return abs(phat - p) <= z * math.sqrt(p * (1 - p) / n)

    def edge(lo: float, hi: float) -> float:  # lo inside, hi outside (or the reverse)
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if inside(mid) == inside(lo) else (lo, mid)
        return (lo + hi) / 2

    low = 0.0 if inside(0.0) or k == 0 else edge(phat, 0.0)
    high = 1.0 if inside(1.0) or k == n else edge(phat, 1.0)
    return low, high


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_matches_its_definition_solved_numerically(kn):
    k, n = kn
    low, high = wilson(k, n)
    ref_low, ref_high = wilson_by_bisection(k, n)
    assert low == pytest.approx(ref_low, abs=1e-9) and high == pytest.approx(ref_high, abs=1e-9)
    assert 0.0 <= low <= k / n <= high <= 1.0


def test_wilson_closed_forms_at_the_extremes():
    z2 = Z95 ** 2
    assert wilson(0, 10)[1] == pytest.approx(z2 / (10 + z2))
    assert wilson(10, 10)[0] == pytest.approx(10 / (10 + z2))
    assert wilson(0, 0) is None


def record(mode="end_to_end", correct=False, exact=None, error=None, meta=None, id="x"):
    scores = None if mode != "end_to_end" else {"exact": float(bool(exact)), "f1": 0.5 if exact is None else float(exact)}
    return {"id": id, "mode": mode, "correct": correct, "perception_scores": scores, "error": error,
            "perception": None if exact is None else [], "answer": None, "meta": meta or {}}


def test_a_counts_verified_answers_a_p_exact_perceptions_a_r_counterfactual_answers():
    records = ([record(correct=True, exact=True)] * 3 + [record(correct=False, exact=True)] * 2
               + [record(correct=False, exact=False)] * 4 + [record(error="boom")]
               + [record("counterfactual", correct=True)] * 7 + [record("counterfactual")] * 3)
    acc = accuracies(records)
    assert (acc["a"]["successes"], acc["a"]["n"]) == (3, 10)
    assert (acc["a_p"]["successes"], acc["a_p"]["n"]) == (5, 10)
    assert (acc["a_r"]["successes"], acc["a_r"]["n"]) == (7, 10)
    assert acc["a_r"]["value"] == 0.7 and (acc["a_r"]["low"], acc["a_r"]["high"]) == wilson(7, 10)


def test_failures_split_into_wrong_perception_right_perception_wrong_reasoning_and_no_response():
    e2e = ([record(correct=True, exact=True)] + [record(exact=True)] * 2 + [record(exact=False)] * 5
           + [record(exact=None)] + [record(error="timeout")])
    f = failure_attribution(e2e)
    assert f["n"] == 9
    assert f["counts"] == {"perception": 6, "reasoning": 2, "no_response": 1}
    assert f["shares"]["reasoning"] == pytest.approx(2 / 9)


def test_breakdown_groups_by_metadata_in_numeric_order_and_counts_distinct_samples():
    records = [record(correct=True, exact=True, meta={"c": 10}, id="a"), record("counterfactual", True, meta={"c": 10}, id="a"),
               record(meta={"c": 2}, id="b"), record(meta={"c": 3}, id="c"), record(correct=True, exact=True, meta={"c": 3}, id="d")]
    groups = breakdown(records, "c")
    assert list(groups) == ["2", "3", "10"]
    assert groups["3"]["n_samples"] == 2 and groups["3"]["a"]["value"] == 0.5
    assert groups["10"]["a_r"]["value"] == 1.0 and groups["2"]["a_r"]["n"] == 0


def test_compute_metrics_averages_partial_scores_and_counts_problems():
    records = [record(correct=True, exact=True), record(exact=None), record(error="x")]
    m = compute_metrics(records, ("c",))
    assert m["perception_partial"]["f1"] == pytest.approx((1.0 + 0.5 + 0.5) / 3)
    assert m["problems"]["backend_errors"] == 1
    assert m["problems"]["unparsed_perception"] == 1
    assert set(m["breakdowns"]) == {"c"}
