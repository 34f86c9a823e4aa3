"""The token game (games/tokens.py) against the token mode's own task and verifier, the game
contract (the kernel switch, copying, legal masks, terminal values), and the board games'
search run over it unchanged (selfplay/llm/search.py)."""

import numpy as np
import pytest
import torch

from games import GameError, MoveParseError, kernels, make_game
from games.registry import game_entry
from games.tokens import ANS, BOS, EOS, PAD, SEP, VOCAB
from selfplay.llm.model import ModelConfig, TokenPolicyValueModel
from selfplay.llm.search import TokenEvaluator, mcts_decode, search_config
from selfplay.llm.tasks import TaskConfig, make_task
from selfplay.llm.tokenizer import CharTokenizer
from selfplay.mcts import MCTS, Evaluator, LeafBatch, RolloutEvaluator

VARIANTS = [dict(task="addition", digits=1, scratchpad=False), dict(task="addition", digits=3, scratchpad=True),
            dict(task="multiplication", digits=2, scratchpad=True), dict(task="addition", digits=2, scratchpad=False)]


def task_of(params):
    return make_task(TaskConfig(name=params["task"], min_digits=1, max_digits=params["digits"],
                                scratchpad=params["scratchpad"]))


def play(game, state, text):
    """``state`` after the tokens of ``text`` (each checked legal by Game.step)."""
    for token in CharTokenizer().encode(text):
        state = game.step(state, game.parse_move(VOCAB[token]))
    return state


# ---- the contract ------------------------------------------------------------------------------
@pytest.mark.parametrize("params", VARIANTS)
def test_params_rebuild_the_game_and_sizes_match_the_task(params):
    game = make_game("tokens", **params)
    again = make_game(game.name, **game.params())
    assert again.params() == game.params() == params and again.label() == game.label()
    assert np.array_equal(again.initial_state(), game.initial_state())
    assert set(game.params()) == set(game_entry("tokens").params)
    task = task_of(params)
    assert game.max_prompt == task.max_prompt_tokens() and game.cap == task.max_response_tokens()
    assert game.players == 1 and game.to_play(game.initial_state()) == 0


@pytest.mark.parametrize("params, message", [
    (dict(task="division"), "unknown task 'division'"), (dict(digits=0), "digits must be an integer from 1 to 9"),
    (dict(digits=True), "digits must be an integer"), (dict(scratchpad="yes"), "scratchpad must be true or false"),
])
def test_bad_parameters_are_game_errors(params, message):
    with pytest.raises(GameError, match=message):
        make_game("tokens", **params)


def test_the_vocabulary_is_the_tokenizers():
    assert tuple(CharTokenizer().vocab) == VOCAB


@pytest.mark.parametrize("params", VARIANTS)
def test_random_play_through_the_switch_matches_the_class_and_the_verifier(params):
    game, task = make_game("tokens", **params), task_of(params)
    rng = np.random.default_rng(0)
    for _ in range(300):
        problem = task.sample(rng)
        state = game.start(problem)
        while not game.is_terminal(state):
            mask = game.legal_mask(state)
            out = np.zeros(game.num_actions, dtype=np.bool_)
            kernels.legal_mask(game.kernel_id, state, out)
            assert np.array_equal(out, mask) and mask.any()  # never a dead end
            assert not mask[[PAD, BOS, SEP]].any()
            action = int(rng.choice(np.flatnonzero(mask)))
            before = state.copy()
            child = game.step(state, action)
            assert np.array_equal(state, before)  # step copies
            switched = state.copy()
            kernels.step(game.kernel_id, switched, action)
            assert np.array_equal(switched, child)
            state = child
        response = game.response(state)
        assert len(CharTokenizer().encode(response)) <= game.cap
        assert kernels.terminal_value(game.kernel_id, state) == game.terminal_value(state) == task.reward(problem, response)
        assert not game.legal_mask(state).any() and kernels.to_play(game.kernel_id, state) == 0


@pytest.mark.parametrize("params", VARIANTS)
def test_the_teachers_responses_are_legal_lines_with_the_verifiers_value(params):
    game, task = make_game("tokens", **params), task_of(params)
    rng = np.random.default_rng(1)
    for _ in range(200):
        problem = task.sample(rng)
        for drop in (False, True):
            text = task.response(problem, drop_carries=drop) + "<eos>"
            state = play(game, game.start(problem), text)
            assert game.is_terminal(state) and game.response(state) == text
            assert game.terminal_value(state) == task.reward(problem, text)
            assert game.prompt(state) == task.prompt(problem)


def test_grammar_by_hand():
    game = make_game("tokens", task="addition", digits=1, scratchpad=False)  # cap 4: <ans> 2 digits <eos>
    state = game.start((3, 4))
    assert game.legal_mask(state)[ANS] and not game.legal_mask(state)[EOS]
    state = game.step(state, ANS)
    mask = game.legal_mask(state)
    assert not mask[ANS] and not mask[EOS] and mask[game.parse_move("7")] and not mask[game.parse_move(",")]
    state = game.step(state, game.parse_move("0"))
    assert game.legal_mask(state)[EOS]
    assert game.terminal_value(play(game, state, "7<eos>")) == 0.0  # "07": a leading zero is wrong
    right = play(game, game.start((3, 4)), "<ans>7<eos>")
    assert game.terminal_value(right) == 1.0 and game.result_string(right) == "right (7)"
    assert game.render(right) == "3+4 -> <ans>7<eos>"
    full = play(game, game.start((3, 4)), "<ans>12")  # the cap leaves room for nothing but <eos>
    assert np.flatnonzero(game.legal_mask(full)).tolist() == [EOS]
    with pytest.raises(MoveParseError, match="not a token"):
        game.parse_move("x")
    with pytest.raises(GameError, match="outside 0 to 1 digits"):
        game.start((12, 3))


# ---- the search, unchanged, on tokens ---------------------------------------------------------------
def test_uniform_priors_and_the_verifier_find_a_one_digit_sum_by_search_alone():
    game = make_game("tokens", task="addition", digits=1, scratchpad=False)
    problems = [(3, 4), (9, 8), (0, 0), (5, 7)]
    finished = mcts_decode(game, [game.start(p) for p in problems], RolloutEvaluator(), simulations=3000,
                           config=search_config(3000, c_puct=1.0, seed=0))
    assert [game.terminal_value(s) for s in finished] == [1.0] * 4, [game.render(s) for s in finished]


class MisleadingPriorsPerfectValues(Evaluator):
    """Priors that put 0.3 more on a wrong token (the digit after the right one, or <ans>
    or <eos> where no digit is due) than on any other (0.7 spread evenly over the legal tokens), so greedy decoding
    is wrong; and the perfect value: 1 while the response can still end right, else 0."""

    def __init__(self, game, answer):
        self.game, self.answer = game, str(answer)

    def evaluate(self, batch):
        priors = np.zeros(batch.legal_mask.shape, dtype=np.float32)
        values = np.zeros(len(batch), dtype=np.float32)
        for i, state in enumerate(batch.states):
            response = self.game.response(state)
            room = self.game.cap - len(CharTokenizer().encode(response))
            written = response.split("<ans>")[1] if "<ans>" in response else None
            legal = np.flatnonzero(batch.legal_mask[i])
            priors[i, legal] = 0.7 / len(legal)
            if written is None:
                priors[i, ANS] += 0.3
                values[i] = float(len(self.answer) + 2 <= room)
                continue
            values[i] = float(self.answer.startswith(written) and len(self.answer) - len(written) + 1 <= room)
            if written == self.answer:
                priors[i, EOS] += 0.3
            elif len(written) < len(self.answer):
                wrong = (int(self.answer[len(written)]) + 1) % 10
                priors[i, self.game.parse_move(str(wrong))] += 0.3
            else:
                priors[i, EOS] += 0.3
        return priors, values


def test_with_a_perfect_value_search_solves_what_greedy_decoding_fails():
    game = make_game("tokens", task="addition", digits=2, scratchpad=False)
    problem = (35, 48)
    evaluator = MisleadingPriorsPerfectValues(game, 83)
    state = game.start(problem)
    while not game.is_terminal(state):  # greedy: the most likely token every time
        priors, _ = evaluator.evaluate(_leaf(game, state))
        state = game.step(state, int(np.argmax(priors[0])))
    assert game.terminal_value(state) == 0.0 and game.response(state).startswith("<ans>9")
    checked = [set()]
    finished = mcts_decode(game, [game.start(problem)], evaluator, simulations=256, checked=checked)
    assert game.terminal_value(finished[0]) == 1.0 and game.response(finished[0]) == "<ans>83<eos>"
    # the verdicts the search read: finished responses, legal lines, the right one among them
    assert "<ans>83<eos>" in checked[0] and len(checked[0]) > 1
    for text in checked[0]:
        assert game.is_terminal(play(game, game.start(problem), text))


def test_decoding_goes_on_while_some_responses_have_ended():
    game = make_game("tokens", task="addition", digits=2, scratchpad=False)
    problems, answers = [(3, 4), (35, 48)], [7, 83]  # answers of 1 and 2 digits: one response ends first
    finished = [mcts_decode(game, [game.start(p)], MisleadingPriorsPerfectValues(game, a), simulations=256)[0]
                for p, a in zip(problems, answers)]
    together = mcts_decode(game, [game.start(p) for p in problems], PerProblem(game, answers), simulations=256)
    assert [game.response(s) for s in together] == [game.response(s) for s in finished]
    assert [game.response(s) for s in together] == ["<ans>7<eos>", "<ans>83<eos>"]


class PerProblem(Evaluator):
    """MisleadingPriorsPerfectValues for each tree's own answer."""

    def __init__(self, game, answers):
        self.each = [MisleadingPriorsPerfectValues(game, a) for a in answers]

    def evaluate(self, batch):
        priors, values = np.zeros(batch.legal_mask.shape, np.float32), np.zeros(len(batch), np.float32)
        for i, tree in enumerate(batch.tree_index):
            one = LeafBatch(batch.game, batch.states[i:i + 1], batch.legal_mask[i:i + 1], None, batch.tree_index[i:i + 1])
            p, v = self.each[tree].evaluate(one)
            priors[i], values[i] = p[0], v[0]
        return priors, values


def _leaf(game, state):
    mcts = MCTS(game, config=search_config(1))
    mcts.set_roots([state])
    mcts.begin(1)
    batch = mcts.next_leaves()
    mcts.abort()
    return batch


def test_the_token_evaluator_reads_the_lm_head_and_the_value_head_at_the_last_token():
    torch.manual_seed(0)
    game = make_game("tokens", task="addition", digits=1, scratchpad=False)
    model = TokenPolicyValueModel(len(VOCAB), ModelConfig(layers=1, heads=2, dim=16, context=game.context)).eval()
    evaluator = TokenEvaluator(model, game, temperature=2.0, top_k=3)
    states = np.stack([game.start((3, 4)), play(game, game.start((3, 4)), "<ans>")])
    legal = np.stack([game.legal_mask(s) for s in states])
    priors, values = evaluator.evaluate(LeafBatch(game, states, legal, None, np.zeros(2, dtype=np.int64)))
    for i, state in enumerate(states):
        tokens = torch.from_numpy(game.tokens(state))[None]
        with torch.no_grad():
            logits, value = model(tokens)
        expected = (logits[0, -1] / 2.0).masked_fill(~torch.from_numpy(legal[i]), float("-inf"))
        top = expected.topk(3).indices
        kept = torch.full_like(expected, float("-inf"))
        kept[top] = expected[top]
        assert priors[i] == pytest.approx(torch.softmax(kept, 0).numpy(), abs=1e-6)
        assert values[i] == pytest.approx(value[0, -1].item(), abs=1e-6)
        assert (priors[i] > 0).sum() == 3 and priors[i][~legal[i]].sum() == 0
    assert evaluator.model_calls == 5 + 1  # the root's prompt <bos>3+4<sep>, then one position
