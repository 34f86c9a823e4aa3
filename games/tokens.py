"""The token game: writing the response to an arithmetic prompt, one token at a time, as a
single-agent game the board games' search (selfplay/mcts) plays unchanged.

The state is the prompt and the response so far; an action is the next token of the token
mode's vocabulary (selfplay/llm/tokenizer.py reads it from here); the game ends at EOS; the
terminal value is the verifier's reward, 1 for a well-formed response whose final answer is
exactly right, else 0. Legal tokens are those that keep the response well formed and able to
finish within the length cap, ``(scratchpad)<ans>DIGITS<eos>`` with the scratchpad any
characters of the alphabet, so every line of play ends in a verdict and none in a dead end:

    before <ans>    any alphabet character, or <ans>      (room left for <ans>, a digit, <eos>)
    after <ans>     a digit                                (room left for it and <eos>)
    after a digit   a digit (room permitting), or <eos>

PAD, BOS and SEP are never legal. The verdict is the task's (selfplay.llm.tasks.ColumnTask
.reward): the digits after ``<ans>`` must spell the answer exactly, so a leading zero is wrong.

State, one flat int64 array: [answer, prompt length, response length, response cap, phase,
digits value, digit count, finished] then the prompt's and the response's token ids (PAD after).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from games.base import Game, GameError, MoveParseError, Rules
from games.kernel_ids import TOKENS

SPECIALS = ("<pad>", "<bos>", "<eos>", "<sep>", "<ans>")
ALPHABET = "0123456789+*,"
VOCAB = (*SPECIALS, *ALPHABET)
PAD, BOS, EOS, SEP, ANS = range(len(SPECIALS))
DIGIT0 = len(SPECIALS)  # the id of "0"; "1".."9" follow
NUM_ACTIONS = len(VOCAB)
TASK_SYMBOLS = {"addition": "+", "multiplication": "*"}

ANSWER, PROMPT_LEN, RESPONSE_LEN, CAP, PHASE, VALUE, DIGITS, FINISHED = range(8)
HEADER = 8
BEFORE_ANSWER, AFTER_MARKER, IN_ANSWER = 0, 1, 2  # phases


@njit(cache=True)
def _count_digits(n):
    count = 1
    while n >= 10:
        n //= 10
        count += 1
    return count


@njit(cache=True)
def is_terminal(state):
    return state[FINISHED] == 1


@njit(cache=True)
def terminal_value(state):
    """The verifier: 1.0 iff the answer's digits spell ``state[ANSWER]`` exactly."""
    right = state[VALUE] == state[ANSWER] and state[DIGITS] == _count_digits(state[ANSWER])
    return 1.0 if right else 0.0


@njit(cache=True)
def to_play(state):
    return 0


@njit(cache=True)
def legal_mask(state, out):
    out[:] = False
    if state[FINISHED] == 1:
        return
    room = state[CAP] - state[RESPONSE_LEN]  # tokens still allowed, this one included
    phase = state[PHASE]
    if phase == BEFORE_ANSWER:
        if room >= 3:  # <ans>, a digit and <eos> must still fit
            out[ANS] = True
        if room >= 4:
            for a in range(DIGIT0, NUM_ACTIONS):
                out[a] = True
    else:
        if room >= 2:
            for a in range(DIGIT0, DIGIT0 + 10):
                out[a] = True
        if phase == IN_ANSWER:
            out[EOS] = True


@njit(cache=True)
def step(state, action):
    state[HEADER + state[PROMPT_LEN] + state[RESPONSE_LEN]] = action
    state[RESPONSE_LEN] += 1
    if action == ANS:
        state[PHASE] = AFTER_MARKER
    elif action == EOS:
        state[FINISHED] = 1
    elif state[PHASE] != BEFORE_ANSWER:  # a digit of the answer
        state[VALUE] = state[VALUE] * 10 + (action - DIGIT0)
        state[DIGITS] += 1
        state[PHASE] = IN_ANSWER


@njit(cache=True)
def encode(state, out):
    """Planes (1, 1, context): the token ids so far as floats (PAD = 0 after them); a token
    model reads the ids themselves (selfplay.llm.search)."""
    used = state[PROMPT_LEN] + state[RESPONSE_LEN]
    for i in range(out.shape[2]):
        out[0, 0, i] = state[HEADER + i] if i < used else 0.0


@njit(cache=True)
def rollout(state):
    """Uniformly random legal tokens to the end; the verifier's value."""
    mask = np.zeros(NUM_ACTIONS, dtype=np.bool_)
    choices = np.empty(NUM_ACTIONS, dtype=np.int64)
    while not is_terminal(state):
        legal_mask(state, mask)
        n = 0
        for a in range(NUM_ACTIONS):
            if mask[a]:
                choices[n] = a
                n += 1
        step(state, choices[np.random.randint(n)])
    return terminal_value(state)


def max_response_tokens(columns: int, scratchpad: bool) -> int:
    """Scratchpad (a digit and a carry per column, commas between), <ans>, the answer (a column
    more than the operands), <eos>: selfplay.llm.tasks.ColumnTask.max_response_tokens."""
    return (3 * columns - 1 if scratchpad else 0) + 1 + (columns + 1) + 1


class TokenGame(Game):
    """One prompt of a task (``addition`` or ``multiplication`` of operands up to ``digits``
    long) as a single-agent game; ``start(problem)`` gives its initial state."""

    name = "tokens"
    kernel_id = TOKENS
    rules = Rules(legal_mask, step, is_terminal, terminal_value, to_play, encode, rollout)
    num_actions = NUM_ACTIONS
    players = 1

    def __init__(self, task: str = "addition", digits: int = 3, scratchpad: bool = True):
        if task not in TASK_SYMBOLS:
            raise GameError(f"tokens: unknown task {task!r}; choose {' or '.join(TASK_SYMBOLS)}")
        if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 9:
            raise GameError(f"tokens: digits must be an integer from 1 to 9, got {digits!r}")
        if not isinstance(scratchpad, bool):
            raise GameError(f"tokens: scratchpad must be true or false, got {scratchpad!r}")
        self.task, self.digits, self.scratchpad = task, digits, scratchpad
        self.symbol = TASK_SYMBOLS[task]
        # <bos> a op b <sep>: addition's operands are both up to ``digits``; multiplication's second is one digit
        self.max_prompt = (2 * digits if task == "addition" else digits + 1) + 3
        self.cap = max_response_tokens(digits, scratchpad)
        self.context = self.max_prompt + self.cap
        self.obs_shape = (1, 1, self.context)

    # ---- identity ----------------------------------------------------------------------------
    def params(self) -> dict:
        return {"task": self.task, "digits": self.digits, "scratchpad": self.scratchpad}

    def label(self) -> str:
        return f"tokens-{self.task}-{self.digits}{'' if self.scratchpad else '-noscratch'}"

    def player_name(self, player: int) -> str:
        return "writer"

    # ---- positions ---------------------------------------------------------------------------
    def start(self, problem: tuple[int, int]) -> np.ndarray:
        """The state before the first response token of ``problem`` = (a, b)."""
        a, b = (int(x) for x in problem)
        if a < 0 or b < 0 or len(str(a)) > self.digits or len(str(b)) > self.digits:
            raise GameError(f"tokens: {a}{self.symbol}{b} has an operand outside 0 to {self.digits} digits")
        prompt = [BOS, *(VOCAB.index(c) for c in f"{a}{self.symbol}{b}"), SEP]
        if len(prompt) > self.max_prompt:
            raise GameError(f"tokens: {a}{self.symbol}{b} is longer than this game's prompts")
        state = np.zeros(HEADER + self.context, dtype=np.int64)
        state[ANSWER] = a + b if self.task == "addition" else a * b
        state[PROMPT_LEN], state[CAP] = len(prompt), self.cap
        state[HEADER:HEADER + len(prompt)] = prompt
        return state

    def initial_state(self) -> np.ndarray:
        """The first problem of the task: both operands the smallest of ``digits`` digits."""
        smallest = 10 ** (self.digits - 1) if self.digits > 1 else 0
        return self.start((smallest, smallest if self.task == "addition" else 2))

    def tokens(self, state: np.ndarray) -> np.ndarray:
        """The prompt's and the response's token ids so far."""
        return state[HEADER:HEADER + state[PROMPT_LEN] + state[RESPONSE_LEN]].copy()

    def response(self, state: np.ndarray) -> str:
        start = HEADER + state[PROMPT_LEN]
        return "".join(VOCAB[t] for t in state[start:start + state[RESPONSE_LEN]])

    def prompt(self, state: np.ndarray) -> str:
        return "".join(VOCAB[t] for t in state[HEADER + 1:HEADER + state[PROMPT_LEN] - 1])

    def returns(self, state: np.ndarray) -> tuple[float, float]:
        """One agent: its reward, and 0 for the absent second player."""
        return self.terminal_value(state), 0.0

    def result_string(self, state: np.ndarray) -> str:
        if not self.is_terminal(state):
            return "unfinished"
        if self.terminal_value(state) == 1.0:
            return f"right ({state[ANSWER]})"
        return f"wrong (the answer is {state[ANSWER]})"

    # ---- humans ------------------------------------------------------------------------------
    def render(self, state: np.ndarray) -> str:
        return f"{self.prompt(state)} -> {self.response(state)}"

    def parse_move(self, text: str) -> int:
        piece = text.strip()
        if piece not in VOCAB:
            raise MoveParseError(f"tokens: {text!r} is not a token; use one character of {ALPHABET!r}, "
                                 f"<ans> or <eos>")
        return VOCAB.index(piece)

    def format_move(self, action: int) -> str:
        return VOCAB[action]

    def move_hint(self) -> str:
        return "a character of 0123456789+*, or <ans> then the answer's digits then <eos>"
