import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfplay.configio import ConfigError, load_config
from selfplay.llm.tasks import TaskConfig, TaskError, extract_answer, make_task

ADD = make_task(TaskConfig("addition", 1, 4))
MUL = make_task(TaskConfig("multiplication", 1, 4))


def carries_by_hand(a: int, b: int) -> int:
    """Column addition as taught at school, written independently of the task's code."""
    count, carry = 0, 0
    while a or b:
        carry = (a % 10 + b % 10 + carry) // 10
        count += carry > 0
        a, b = a // 10, b // 10
    return count


@given(st.integers(0, 9999), st.integers(0, 9999))
def test_addition_answer_and_scratchpad(a, b):
    assert ADD.answer((a, b)) == str(a + b)
    response = ADD.response((a, b))
    pad, answer = response.split("<ans>")
    assert answer == str(a + b)
    pairs = pad.split(",")
    digits = "".join(p[0] for p in reversed(pairs))
    assert int(pairs[-1][1] + digits) == a + b  # the scratchpad's digits, units first, and last carry
    assert ADD.num_carries((a, b)) == carries_by_hand(a, b)


@given(st.integers(0, 9999), st.integers(2, 9))
def test_multiplication_answer_and_scratchpad(a, b):
    assert MUL.answer((a, b)) == str(a * b)
    pad, answer = MUL.response((a, b)).split("<ans>")
    assert answer == str(a * b)
    digits = "".join(p[0] for p in reversed(pad.split(",")))
    assert int(pad.split(",")[-1][1] + digits) == a * b


def test_known_scratchpads():
    assert ADD.response((358, 467)) == "51,21,80<ans>825"
    assert ADD.response((358, 467), drop_carries=True) == "50,10,70<ans>715"
    assert ADD.response((865, 673)) == "80,31,51<ans>1538"
    assert MUL.response((47, 6)) == "24,82<ans>282"
    no_pad = make_task(TaskConfig("addition", 3, 3, scratchpad=False))
    assert no_pad.response((358, 467)) == "<ans>825"


def test_prompt_and_lengths():
    task = make_task(TaskConfig("addition", 3, 3))
    problem = (999, 999)
    assert task.prompt(problem) == "999+999"
    assert 1 + len(task.prompt(problem)) + 1 == task.max_prompt_tokens()
    assert len(task.response(problem)) - len("<ans>") + 2 == task.max_response_tokens()  # + <ans> + <eos>


@pytest.mark.parametrize("response, reward", [
    ("51,21,80<ans>825<eos>", 1.0),
    ("99,99,99<ans>825<eos>", 1.0),        # the scratchpad is never checked
    ("<ans>825<eos>", 1.0),
    ("51,21,80<ans>825", 0.0),             # cut off before <eos>
    ("51,21,80<ans>0825<eos>", 0.0),       # not exactly the number
    ("51,21,80<ans>715<eos>", 0.0),
    ("51,21,80825<eos>", 0.0),             # no answer marker
    ("<ans><eos>", 0.0),
    ("<ans>825<ans>825<eos>", 0.0),
])
def test_verifier_reads_the_final_answer_only(response, reward):
    assert ADD.reward((358, 467), response) == reward


def test_extract_answer():
    assert extract_answer("1,2<ans>42<eos>") == "42"
    assert extract_answer("1,2<ans>42") is None


def test_heldout_split_is_a_fixed_partition():
    task = make_task(TaskConfig("addition", 2, 2, heldout_fraction=0.2))
    rng = np.random.default_rng(0)
    train = set(task.sample_many(3000, rng))
    heldout = set(task.sample_many(300, rng, heldout=True))
    assert train and heldout and not train & heldout
    assert all(task.is_heldout(p) for p in heldout)
    share = np.mean([task.is_heldout((a, b)) for a in range(10, 100) for b in range(10, 100)])
    assert 0.17 < share < 0.23


def test_operand_lengths_follow_the_config():
    task = make_task(TaskConfig("addition", 2, 3))
    problems = task.sample_many(500, np.random.default_rng(1))
    lengths = {len(str(x)) for p in problems for x in p}
    assert lengths == {2, 3}
    mul = make_task(TaskConfig("multiplication", 2, 2)).sample_many(200, np.random.default_rng(1))
    assert all(10 <= a <= 99 and 2 <= b <= 9 for a, b in mul)


def test_an_empty_split_is_a_clear_error():
    task = make_task(TaskConfig("addition", 1, 1, heldout_fraction=0.001))
    heldout = [(a, b) for a in range(10) for b in range(10) if task.is_heldout((a, b))]
    if heldout:
        pytest.skip("this tiny space happens to have a held-out problem")
    with pytest.raises(TaskError, match="has no held-out problems"):
        task.sample(np.random.default_rng(0), heldout=True, max_tries=200)


@pytest.mark.parametrize("override, message", [
    ("task.name=''", "task name is empty"),
    ("task.name=sorting", "unknown task 'sorting'"),
    ("task.min_digits=0", "need 1 <= min_digits"),
    ("task.max_digits=10", "need 1 <= min_digits"),
    ("task.heldout_fraction=1.0", "heldout_fraction"),
])
def test_bad_task_configs(override, message):
    from selfplay.llm.config import LLMConfig
    with pytest.raises(ConfigError, match=message):
        load_config(LLMConfig, None, [override])


@settings(max_examples=30)
@given(st.integers(0, 2**31))
def test_sampling_is_reproducible(seed):
    assert ADD.sample_many(5, np.random.default_rng(seed)) == ADD.sample_many(5, np.random.default_rng(seed))
