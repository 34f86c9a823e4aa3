"""One Player protocol for every kind of player, and player specs such as ``mcts:sims=800``.

A player picks a move for a state; the arena, terminal play and the GTP engine drive any of
them the same way. Players that keep state across moves (a search tree reused between moves)
hear of every move played through ``observe``.
"""

from __future__ import annotations

import importlib
import math

import numpy as np

from games import Game
from selfplay.configio import ConfigError
from selfplay.errors import UserError


class PlayerSpecError(UserError):
    """A player spec string is malformed or names an unknown player or option."""


class Resignation(Exception):
    """Raised by ``select_move`` when the player resigns (a GTP engine answering ``resign``):
    the game ends there as a loss for the side to move."""


class Player:
    """Base class: override ``select_move``; ``reset`` and ``observe`` are optional hooks."""

    name = "player"

    def reset(self, game: Game) -> None:
        """A new game of ``game`` starts."""

    def select_move(self, game: Game, state: np.ndarray) -> int:
        raise NotImplementedError

    def observe(self, game: Game, state: np.ndarray, action: int) -> None:
        """``action`` was played (by either side) from ``state``."""

    def select_moves(self, game: Game, states) -> np.ndarray:
        """A move in each of many unrelated positions, each taken as a fresh game (a benchmark
        file's); players that can think about them together override this."""
        moves = np.empty(len(states), dtype=np.int64)
        for i, state in enumerate(states):
            self.reset(game)
            moves[i] = self.select_move(game, np.array(state, copy=True))
        return moves


class RandomPlayer(Player):
    """Uniformly random among legal moves."""

    def __init__(self, seed: int | None = None):
        self.rng = np.random.default_rng(seed)
        self.name = "random"

    def select_move(self, game, state):
        return int(self.rng.choice(game.legal_actions(state)))


# kind -> "module:factory"; a factory takes (game, options, context) and returns a Player:
# options are the spec's key=value strings (check them with read_options), context holds
# what the caller provides (for example input/output functions for a human). With
# context["check_only"] a factory checks every option and returns before anything costly or
# outside the process (reading a checkpoint, starting an engine); its return value is unused.
# Imported lazily so that asking for a random player never imports torch.
PLAYER_FACTORIES = {
    "random": "selfplay.players:make_random",
    "human": "selfplay.players.human:make_human",
    "solver": "selfplay.players.solver:make_solver",
    "net": "selfplay.players.net:make_net_player",
    "mcts": "selfplay.mcts.player:make_mcts",
    "expert": "selfplay.players.expert:make_expert",
    "gtp": "selfplay.gtp.client:make_gtp_player",
}


def make_random(game, options, context):
    return RandomPlayer(read_options("random", options, seed=0)["seed"] if options else None)


def read_options(kind: str, options: dict[str, str], **defaults) -> dict:
    """Check a spec's option names against ``defaults`` and convert each value to the type of
    its default (int, float, bool or str); unknown names and bad values are PlayerSpecErrors."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        known = ", ".join(sorted(defaults)) or "none"
        raise PlayerSpecError(f"{kind}: unknown option {', '.join(map(repr, unknown))}; known options: {known}")
    values = dict(defaults)
    for key, text in options.items():
        kind_of = type(defaults[key])
        try:
            if kind_of is bool:
                if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError
                values[key] = text.lower() in ("1", "true", "yes")
            else:
                values[key] = kind_of(text)
        except ValueError:
            raise PlayerSpecError(f"{kind}: option {key}={text!r} is not a valid {kind_of.__name__}") from None
        if kind_of is float and not math.isfinite(values[key]):
            raise PlayerSpecError(f"{kind}: option {key}={text!r} is not a finite number")
        if key == "seed" and values[key] < 0:  # a random generator's seed
            raise PlayerSpecError(f"{kind}: seed must be 0 or more, got {text}")
    return values


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"mcts:sims=800,c=1.5"`` -> ``("mcts", {"sims": "800", "c": "1.5"})``.

    A kind may take a free-form first argument without ``key=``, stored under ``""``:
    ``net:runs/c4,sims=200`` or ``gtp:gnugo --mode gtp``. Quoted (``"..."`` or ``'...'``) it
    may contain ``,`` and ``=`` and is taken verbatim, quotes removed:
    ``gtp:"katago gtp -override-config a=1,b=2",timeout=60``.
    """
    spec = spec.strip()
    if not spec:
        raise PlayerSpecError("empty player spec")
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    options: dict[str, str] = {}
    rest = rest.strip()
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        if end < 0:
            raise PlayerSpecError(f"player spec {spec!r}: the quote {rest[0]} is never closed")
        options[""] = rest[1:end]
        rest = rest[end + 1:].strip()
        if rest and not rest.startswith(","):
            raise PlayerSpecError(f"player spec {spec!r}: expected ',' after the quoted argument, got {rest!r}")
        rest = rest[1:]
    if rest:
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            if not eq:
                if options:
                    raise PlayerSpecError(f"player spec {spec!r}: option {item!r} is not key=value")
                options[""] = item.strip()
                continue
            key = key.strip()
            if not key or key in options:
                raise PlayerSpecError(f"player spec {spec!r}: empty or repeated option {key!r}")
            options[key] = value.strip()
    return kind, options


def check_spec(spec: str) -> tuple[str, dict[str, str]]:
    """A spec's syntax and kind, checked without building the player (no engine started, no
    checkpoint read): what a config's validation checks before a run starts."""
    kind, options = parse_spec(spec)
    if kind not in PLAYER_FACTORIES:
        raise PlayerSpecError(f"unknown player {kind!r} in {spec!r}; known: {', '.join(sorted(PLAYER_FACTORIES))}")
    return kind, options


def check_player(spec: str, game: Game) -> None:
    """Everything ``make_player`` checks (syntax, kind, each option's value, the game) without
    a checkpoint read or an engine started (factories get ``check_only``). What a config's
    validation runs before anything is written."""
    kind, options = check_spec(spec)
    _factory(kind)(game, options, {"check_only": True})


def require_specs(field: str, specs: list[str], game: Game | None = None) -> None:
    """ConfigError naming ``field`` for the first spec refused: by ``check_player`` for ``game``,
    or by ``check_spec`` (syntax and kind) where the game is not known yet."""
    for spec in specs:
        try:
            check_spec(spec) if game is None else check_player(spec, game)
        except UserError as e:  # PlayerSpecError, or a device this machine lacks
            raise ConfigError(f"{field}: {e}") from None


def make_player(spec: str, game: Game, **context) -> Player:
    """Build a player from a spec string for ``game``; ``context`` is passed to the factory."""
    kind, options = check_spec(spec)
    return _factory(kind)(game, options, context)


def _factory(kind: str):
    module_name, _, attr = PLAYER_FACTORIES[kind].partition(":")
    return getattr(importlib.import_module(module_name), attr)
