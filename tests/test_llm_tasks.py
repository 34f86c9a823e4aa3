import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfplay.configio import ConfigError, load_config
from selfplay.llm.tasks import TaskConfig, TaskError, extract_answer, make_task
from selfplay.llm.tokenizer import CharTokenizer

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


# ---- the split on the canonical problem, evaluation without replacement (issue 17) ------------
@pytest.mark.parametrize("name, lo, hi", [("addition", 2, 2), ("addition", 1, 2), ("multiplication", 1, 1)])
def test_no_heldout_problem_has_its_swapped_twin_in_training(name, lo, hi):
    """Every problem of the space, both orders: a+b and b+a are on the same side of the split."""
    task = make_task(TaskConfig(name, lo, hi, heldout_fraction=0.2))
    space = set(task.all_problems())
    assert len(space) == task.space_size()
    heldout = [p for p in space if task.is_heldout(p)]
    assert heldout
    twins = [(b, a) for a, b in heldout if (b, a) in space]
    assert twins and all(task.is_heldout(t) for t in twins)


def test_three_digit_additions_twins_are_held_out_too():
    """The audit's case: 3-digit addition, where ~95% of held-out twins used to be training prompts."""
    task = make_task(TaskConfig("addition", 3, 3))
    problems = task.sample_many(400, np.random.default_rng(0), heldout=True)
    assert all(task.is_heldout((b, a)) for a, b in problems)
    train = task.sample_many(4000, np.random.default_rng(1))
    assert not {(b, a) for a, b in train} & set(problems)


def test_evaluation_problems_are_distinct_and_counted():
    task = make_task(TaskConfig("addition", 2, 2, heldout_fraction=0.05))
    count = sum(task.is_heldout((a, b)) for a in range(10, 100) for b in range(10, 100))
    assert task.heldout_count() == count and 300 < count < 520  # ~5% of 8100
    every = task.sample_many(count, np.random.default_rng(0), heldout=True)
    assert len(set(every)) == count and all(task.is_heldout(p) for p in every)
    some = task.sample_many(200, np.random.default_rng(3), heldout=True)
    assert len(set(some)) == 200
    with pytest.raises(TaskError, match=f"has {count} held-out problems .* fewer than the {count + 1} asked"):
        task.sample_many(count + 1, np.random.default_rng(0), heldout=True)


def test_training_problems_are_drawn_with_replacement():
    task = make_task(TaskConfig("addition", 1, 1))
    problems = task.sample_many(500, np.random.default_rng(0))
    assert len(set(problems)) < 100 and not any(task.is_heldout(p) for p in problems)


# ---- the verifier reads the exact response tokens (issue 17) -----------------------------------
@pytest.mark.parametrize("response, reward", [
    ("51,21,80<ans>825<eos>", 1.0),
    ("51,21,80<ans>825<eos><pad><pad>", 1.0),   # padding added by batching
    ("<ans>825<eos>", 1.0),
    ("<ans>8<pad>25<eos>", 0.0),                # PAD inside the answer
    ("51,<pad>21,80<ans>825<eos>", 0.0),        # PAD inside the scratchpad
    ("<pad><ans>825<eos>", 0.0),
    ("51,21<sep>,80<ans>825<eos>", 0.0),        # SEP inside
    ("<bos><ans>825<eos>", 0.0),                # BOS inside
    ("<ans>825<eos>5", 0.0),                    # something after EOS
    ("<ans>825<eos><eos>", 0.0),
    ("<ans>825<eos><pad>5", 0.0),
    ("<ans>825", 0.0),                          # cut off before EOS
    ("<ans>825<pad><pad>", 0.0),
])
def test_the_verifier_accepts_only_well_formed_responses(response, reward):
    tok = CharTokenizer()
    assert ADD.reward_ids((358, 467), tok.encode(response), tok) == reward


def test_the_text_verifier_rejects_special_tokens_inside():
    for text in ("<ans>8<pad>25<eos>", "5<sep>1<ans>825<eos>", "<bos>51<ans>825<eos>", "<ans>825<eos><eos>"):
        assert ADD.reward((358, 467), text) == 0.0 and extract_answer(text) is None
    assert CharTokenizer().response_text(CharTokenizer().encode("<ans>8<pad>25<eos>")) == "<ans>8<pad>25<eos>"
