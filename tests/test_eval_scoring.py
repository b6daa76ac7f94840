"""Scoring what models actually write: mangled responses never raise and are never scored right
by accident; the prefill is part of the text that is scored."""
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vlmdiag.eval.backends.base import Generation
from vlmdiag.eval.requests import Request
from vlmdiag.eval.scoring import new_record, score_record
from vlmdiag.seeding import rng_for
from vlmdiag.tasks import get_task

TASKS = ("graph", "sudoku")


@lru_cache(maxsize=None)
def problem_of(name: str, index: int = 0):
    task = get_task(name)
    return task, task.sample(task.config_cls(), rng_for(7, index)).problem


def scored(task, problem, text: str, mode="end_to_end", prefill=None, error=None):
    req = Request(0, "s", mode, None if mode == "end_to_end" else "prefill", "prompt", None, prefill, 1)
    gen = Generation(error=error) if error else Generation(texts=(text,))
    return score_record(task, new_record(req, 0, gen, task.ground_truth(problem), {}), problem)


@st.composite
def mangled(draw, text: str) -> str:
    """Cuts, deletions, duplications and junk insertions of a correct response."""
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        edit = draw(st.sampled_from(["cut", "delete", "duplicate", "insert"]))
        if edit == "cut":
            text = text[:i]
        elif edit == "delete":
            text = text[:i] + text[j:]
        elif edit == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            junk = draw(st.text(alphabet=st.sampled_from(list('[]{}(),:"\'-0123456789abc \nAnswer:Perception:<think>')),
                                max_size=30))
            text = text[:i] + junk + text[i:]
    return text


@pytest.mark.parametrize("name", TASKS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mangled_responses_never_raise_and_correct_means_verified(name, data):
    task, problem = problem_of(name)
    text = data.draw(mangled(task.trace(problem).text))
    record = scored(task, problem, text)
    assert isinstance(record["correct"], bool)
    assert record["correct"] == (record["answer"] is not None and task.verify(problem, record["answer"]))
    assert set(record["perception_scores"]) >= {"exact"}
    if record["answer"] is None:
        assert record["answer_error"]


@pytest.mark.parametrize("name", TASKS)
@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_never_raises_and_is_never_correct(name, text):
    task, problem = problem_of(name)
    record = scored(task, problem, text)
    assert record["correct"] is False and record["perception_scores"]["exact"] in (0.0, 1.0)


@pytest.mark.parametrize("name", TASKS)
def test_prefill_and_continuation_are_scored_as_one_response(name):
    task, problem = problem_of(name)
    trace = task.trace(problem)
    record = scored(task, problem, trace.text[len(trace.prefill):], "counterfactual", trace.prefill)
    assert record["correct"] is True and record["perception_scores"] is None
    alone = scored(task, problem, trace.text[len(trace.prefill):], "counterfactual", None)
    assert alone["perception"] is None or alone["perception"] != record["perception"]


@pytest.mark.parametrize("name", TASKS)
def test_a_backend_error_is_a_wrong_answer_with_its_reason(name):
    task, problem = problem_of(name)
    record = scored(task, problem, "", error="RuntimeError: engine died")
    assert record["correct"] is False and record["response"] is None
    assert record["error"] == "RuntimeError: engine died" and record["perception_scores"]["exact"] == 0.0
