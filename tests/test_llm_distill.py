"""selfplay llm distill: the scratchpad cut by hand, rejection sampling against the verifier,
SFT on given demonstrations, and the command end to end on a tiny teacher."""

import csv
from pathlib import Path

import numpy as np
import pytest

from selfplay.cli import main
from selfplay.configio import load_config
from selfplay.llm import distill
from selfplay.llm.config import LLMConfig
from selfplay.llm.run import Setting
from selfplay.llm.sft import SFTTrainer, demonstrations

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "llm_smoke.yaml")
DISTILL_SMOKE = str(ROOT / "configs" / "llm_distill_smoke.yaml")
TINY = ["sft.steps=3", "sft.warmup_steps=1", "sft.eval_every=3", "sft.checkpoint_every=3", "sft.batch_size=16",
        "distill.demonstrations=40", "eval.problems=8", "eval.samples=2", "eval.pass_k=2", "eval.sampled_problems=4"]


def rows_of(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---- the data ------------------------------------------------------------------------------------
def test_strip_scratchpad_keeps_the_answer_alone():
    assert distill.strip_scratchpad("51,21,80<ans>825<eos>") == "<ans>825<eos>"
    assert distill.strip_scratchpad("<ans>825<eos>") == "<ans>825<eos>"  # nothing to hide
    assert distill.strip_scratchpad("<ans>82") == "<ans>82"              # cut off after the marker
    assert distill.strip_scratchpad("51,21<eos>") == "<eos>"             # ended without answering
    assert distill.strip_scratchpad("51,2") == ""                        # cut off before answering


def test_student_pairs_show_the_responses_or_their_answers():
    pairs = [((58, 67), "51,21,80<ans>125<eos>"), ((10, 10), "02,00<eos>"), ((11, 11), "22,")]
    assert distill.student_pairs(pairs, "shown") == pairs
    assert distill.student_pairs(pairs, "hidden") == [((58, 67), "<ans>125<eos>"), ((10, 10), "<eos>")]


def test_rejection_sampling_keeps_exactly_the_verifier_correct_responses():
    task = Setting.build(load_config(LLMConfig, SMOKE)).task
    problems = [(12, 34), (58, 67), (58, 67), (90, 15), (11, 11)]
    texts = ["20,40<ans>46<eos>",     # right
             "51,21,00<ans>115<eos>",  # wrong answer (the carry forgotten)
             "51,21,10<ans>125<eos>",  # right (the scratchpad is never checked)
             "<ans>105",               # right number, cut off before <eos>: not accepted
             "<ans>22<eos>"]           # right without a scratchpad
    kept, rate = distill.rejection_sample(task, problems, texts, filter_correct=True)
    assert kept == [((12, 34), texts[0]), ((58, 67), texts[2]), ((11, 11), texts[4])]
    assert rate == pytest.approx(3 / 5)
    kept, rate = distill.rejection_sample(task, problems, texts, filter_correct=False)
    assert kept == list(zip(problems, texts)) and rate == 1.0


# ---- SFT on given demonstrations -----------------------------------------------------------------
def test_sft_trains_on_exactly_the_given_demonstrations(tmp_path):
    setting = Setting.build(load_config(LLMConfig, SMOKE))
    vocab = setting.tokenizer.vocab
    pairs = [((12, 34), "<ans>46<eos>"), ((58, 67), "51,21,10<ans>125<eos>")]
    by_hand = [["<bos>", "1", "2", "+", "3", "4", "<sep>", "<ans>", "4", "6", "<eos>"],
               ["<bos>", "5", "8", "+", "6", "7", "<sep>", "5", "1", ",", "2", "1", ",", "1", "0", "<ans>", "1", "2",
                "5", "<eos>"]]
    tokens, mask, rewards = SFTTrainer(setting, tmp_path / "given", demonstrations=pairs).dataset()
    for row, row_mask, pieces in zip(tokens.tolist(), mask.tolist(), by_hand):
        assert row[:len(pieces)] == [vocab.index(p) for p in pieces]
        assert all(t == vocab.index("<pad>") for t in row[len(pieces):])
        targets = [row[t + 1] for t in range(len(row) - 1) if row_mask[t]]  # the predicted tokens
        response = pieces[pieces.index("<sep>") + 1:]
        assert targets == [vocab.index(p) for p in response]
    assert rewards.tolist() == [1.0, 1.0]


def test_sft_without_given_demonstrations_draws_the_teachers_as_before(tmp_path):
    setting = Setting.build(load_config(LLMConfig, SMOKE, ["sft.num_demonstrations=50"]))
    ours = SFTTrainer(setting, tmp_path / "teacher").dataset()
    before = demonstrations(setting, 50, np.random.default_rng([setting.config.seed, 4]))
    assert all((a == b).all() for a, b in zip(ours, before))


# ---- the command ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["llm", "sft", SMOKE, "sft.steps=4", "eval.problems=8", "eval.samples=0",
                 "--runs", str(runs), "--name", "t"]) == 0
    return runs


def test_distill_end_to_end_then_resume_skips_finished_students(teacher_run, capsys):
    runs = teacher_run
    argv = ["llm", "distill", DISTILL_SMOKE, "--init", str(runs / "t"), "--runs", str(runs), "--name", "d",
            *TINY, "distill.filter_correct=false"]  # a 4-step teacher is rarely right: keep everything
    assert main(argv) == 0
    table = rows_of(runs / "d" / "distill.csv")
    assert [r["model"] for r in table] == ["teacher", "shown", "hidden"]
    for r in table:
        low, accuracy, high = float(r["accuracy_low"]), float(r["accuracy"]), float(r["accuracy_high"])
        assert 0 <= low <= accuracy <= high <= 1
    assert table[0]["demonstrations"] == "40" and float(table[0]["keep_rate"]) == 1.0
    shown = rows_of(runs / "d" / "shown" / distill.DEMONSTRATIONS_FILE)
    hidden = rows_of(runs / "d" / "hidden" / distill.DEMONSTRATIONS_FILE)
    assert len(shown) == 40 and table[1]["demonstrations"] == "40"
    assert all(r["response"].startswith("<ans>") or r["response"] == "<eos>" for r in hidden)  # no scratchpad
    assert table[2]["demonstrations"] == str(len(hidden))
    evaluations = {mode: len(rows_of(runs / "d" / mode / "eval.csv")) for mode in ("shown", "hidden")}
    capsys.readouterr()

    assert main(["llm", "distill", "--resume", str(runs / "d")]) == 0
    out = capsys.readouterr().out
    assert "shown student: finished before, not retrained" in out and "hidden student: finished before" in out
    assert {mode: len(rows_of(runs / "d" / mode / "eval.csv")) for mode in ("shown", "hidden")} == evaluations
    assert rows_of(runs / "d" / "distill.csv") == table  # the same samples, students and evaluations

    assert main(argv) == 2  # the same name without --resume
    assert "--resume" in capsys.readouterr().err


def test_distill_keeps_only_the_verifier_correct_samples(teacher_run, monkeypatch):
    """The teacher's sampler replaced by fixed texts: right on even problems, wrong on odd ones."""
    def fake_responses(policy, setting, problems, temperature):
        return [setting.task.response(p) + "<eos>" if i % 2 == 0 else "<ans>1<eos>" for i, p in enumerate(problems)]

    monkeypatch.setattr(distill, "teacher_responses", fake_responses)
    runs = teacher_run
    assert main(["llm", "distill", DISTILL_SMOKE, "--init", str(runs / "t"), "--runs", str(runs), "--name", "rs",
                 *TINY, "distill.modes=hidden,shown"]) == 0
    sampled = rows_of(runs / "rs" / distill.SAMPLES_FILE)
    right = [((int(r["a"]), int(r["b"])), r["response"]) for i, r in enumerate(sampled) if i % 2 == 0]
    assert [float(r["correct"]) for r in sampled] == [1.0 - i % 2 for i in range(40)]
    shown = rows_of(runs / "rs" / "shown" / distill.DEMONSTRATIONS_FILE)
    assert [((int(r["a"]), int(r["b"])), r["response"]) for r in shown] == right
    hidden = rows_of(runs / "rs" / "hidden" / distill.DEMONSTRATIONS_FILE)
    assert [r["response"] for r in hidden] == [text[text.index("<ans>"):] for _, text in right]
    table = rows_of(runs / "rs" / "distill.csv")
    assert [r["model"] for r in table] == ["teacher", "hidden", "shown"]
    assert float(table[0]["keep_rate"]) == pytest.approx(0.5)
    assert table[1]["demonstrations"] == table[2]["demonstrations"] == "20"


@pytest.mark.parametrize("override, message", [
    ("distill.demonstrations=0", "distill: demonstrations must be 1 or more"),
    ("distill.modes=foo", "distill: modes: unknown mode 'foo'"),
    ("distill.modes=shown,shown", "distill: modes lists a mode twice"),
    ("distill.modes=", "distill: modes is empty"),
    ("distill.temperature=-1", "distill: temperature must be 0 (greedy) or positive"),
])
def test_a_bad_distill_config_exits_2_naming_the_field(tmp_path, capsys, override, message):
    assert main(["llm", "distill", DISTILL_SMOKE, override, "--init", str(tmp_path / "none"),
                 "--runs", str(tmp_path), "--name", "bad"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()  # refused before anything was written
