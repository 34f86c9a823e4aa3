"""``selfplay play GAME``: a game in the terminal between any two players (human, random,
mcts:sims=N, ...), the board redrawn after every move, with undo, hints and ``save FILE`` for
humans. The rules are said first and the result is explained at the end (Go's area count,
Connect Four's winning four), so that a game never ends in a way its players did not expect."""

from __future__ import annotations

import datetime
from pathlib import Path

from games import GAME_NAMES, Game, make_game
from games.registry import game_entry
from selfplay.agents import SHIPPED, card_path
from selfplay.atomic import atomic_write_text
from selfplay.commands.argtypes import finite_float
from selfplay.mcts import MCTSPlayer
from selfplay.players import (
    Player,
    PlayerSpecError,
    Resignation,
    make_player,
    parse_spec,
)
from selfplay.players.human import (
    INTRODUCTION,
    HintRequest,
    HumanPlayer,
    QuitRequest,
    SaveRequest,
    UndoRequest,
    read_terminal_line,
)

#: Search of the rollout MCTS that answers ``hint`` when no searching player is in the game.
HINT_SIMULATIONS = 2000


def add_parser(sub):
    p = sub.add_parser("play", help="play a game in the terminal between any two players")
    p.add_argument("game", choices=GAME_NAMES)
    p.add_argument("--x", "--b", "--first", dest="first", default="human", metavar="SPEC",
                   help="first player (X in Connect Four, Black in Go): human, random, mcts:sims=N, ...")
    p.add_argument("--o", "--w", "--second", dest="second", default="random", metavar="SPEC",
                   help="second player (O in Connect Four, White in Go)")
    p.add_argument("--size", type=int, default=9, help="Go board size (5-19)")
    p.add_argument("--komi", type=finite_float, default=None, help="Go komi (default: by board size)")
    p.add_argument("--start", default="", help="moves to play first: a Connect Four digit string "
                   "such as 4453, or space-separated moves")
    p.set_defaults(func=run)


def game_from_args(args) -> Game:
    """The game with those of the options --size and --komi that it takes (Go: both; without
    --komi, the fair komi of the board size)."""
    options = {"size": args.size, "komi": args.komi}
    return make_game(args.game, **{name: options[name] for name in game_entry(args.game).params if name in options})


def run(args, read_line=read_terminal_line, write=print):
    game = game_from_args(args)
    specs = (args.first, args.second)
    players = [make_player(spec, game, read_line=read_line, write=write) for spec in specs]
    states = [game.initial_state()]
    actions: list[int] = []
    for text in game.split_moves(args.start):
        actions.append(game.parse_move(text))
        states.append(game.step(states[-1], actions[-1]))
    for p in players:
        p.reset(game)
    names = [f"{game.player_name(i)} ({p.name})" for i, p in enumerate(players)]
    write(f"{game.name}: {names[0]} vs {names[1]}")
    if hasattr(game, "rules_text"):
        write(game.rules_text())
    for i, spec in enumerate(specs):
        strength = shipped_network_strength(spec)
        if strength:
            write(f"{game.player_name(i)}: {strength}")
    write(game.render(states[-1]))
    if any(isinstance(p, HumanPlayer) for p in players):
        write(INTRODUCTION.format(example=game.move_hint()))
    hint_engine = None
    while not game.is_terminal(states[-1]):
        state = states[-1]
        mover = players[game.to_play(state)]
        try:
            action = mover.select_move(game, state)
        except QuitRequest:
            write("game abandoned")
            return 0
        except UndoRequest:
            states = _undo(states, players, game, write)
            del actions[len(states) - 1:]
            continue
        except HintRequest:
            hint_engine = _hint(game, state, players, hint_engine, write)
            continue
        except SaveRequest as request:
            _save(game, request.path, actions, names, states[-1], write)
            continue
        except Resignation:
            write(f"{game.player_name(game.to_play(state))} ({mover.name}) resigns")
            write(f"result: {game.resignation_string(state)}")
            return 0
        for p in {id(p): p for p in players}.values():
            p.observe(game, state, action)
        actions.append(action)
        states.append(game.step(state, action))
        if not isinstance(mover, HumanPlayer):
            write(f"{game.player_name(game.to_play(state))} plays {game.format_move(action)}")
        write(game.render(states[-1]))
        if action == getattr(game, "pass_action", None):
            _announce_pass(game, state, states[-1], write)
    _write_result(game, states[-1], write)
    return 0


def _announce_pass(game, before, after, write):
    """Say what a pass means: the game over after a second pass, else that one more ends it."""
    passer = game.player_name(game.to_play(before))
    if game.is_terminal(after):
        write(f"{passer} passed after a pass: the game is over")
    else:
        other = game.player_name(game.to_play(after))
        now = f" (the count now: {game.score_breakdown(after).result})" if hasattr(game, "score_breakdown") else ""
        write(f"{passer} passed: if {other} passes too, the game ends{now}")


def _write_result(game, state, write):
    """The result, with what it is made of: Go's area count, Connect Four's winning four."""
    if hasattr(game, "score_breakdown"):
        for line in game.score_breakdown(state).lines()[:-1]:
            write(line)
        black, white = game.captures(state)
        write(f"captures: Black {black}, White {white} (area scoring counts the stones on the board, not captures)")
    four = game.winning_four(state) if hasattr(game, "winning_four") else []
    if four:
        winner = game.player_name(game.winner(state))
        write(f"{winner} wins: {' '.join(game.cell_name(c, r) for c, r in four)} (marked *{winner}*)")
    write(f"result: {game.result_string(state)}")


def _save(game, path, actions, names, state, write):
    """Write the game so far (Go: SGF, Connect Four: its move string) atomically; a path that
    cannot be written is a one-line reason, and the game goes on either way."""
    result = game.result_string(state) if game.is_terminal(state) else ""
    text = game.record_text(actions, names[0], names[1], result, datetime.date.today().isoformat())
    target = Path(path).expanduser()
    if not target.parent.is_dir():  # atomic_write_text would create it: a typo should not
        write(f"  save: cannot write {path}: there is no folder {target.parent}")
        return
    if target.is_dir():
        write(f"  save: cannot write {path}: it is a folder; name a file in it")
        return
    try:
        atomic_write_text(target, text)
    except OSError as e:
        write(f"  save: cannot write {path}: {e.strerror or e}")
        return
    write(f"  saved {len(actions)} moves to {target.resolve()}")


def shipped_network_strength(spec: str) -> str | None:
    """One line on a shipped network's strength from its model card (``net:c4`` ->
    selfplay/agents/c4.md): the card's ``Strength:`` line, else its title; None for any other
    player, or when the card is missing or unreadable."""
    try:
        kind, options = parse_spec(spec)
    except PlayerSpecError:  # refused when the player was made; nothing to add here
        return None
    name = options.get("") or options.get("path")
    if kind != "net" or name not in SHIPPED or Path(name).exists():
        return None
    try:
        lines = [line.strip() for line in card_path(name).read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError):
        return None
    card = f"selfplay/agents/{card_path(name).name}"
    for line in lines:
        bare = line.lstrip("-*# ").replace("**", "")
        if bare.lower().startswith("strength:") and bare[len("strength:"):].strip():
            return f"net:{name}, {bare[len('strength:'):].strip()} (model card: {card})"
    return f"net:{name}, the shipped network: its measured strength is in {card}" if lines else None


def _hint(game, state, players, fallback, write) -> Player | None:
    """Show an engine's evaluation of ``state``: a searching player of the game (MCTS or net,
    whose kept tree makes its next move faster) searches from it, or else a rollout MCTS kept
    between hints, which is returned."""
    engines = [p for p in players if isinstance(p, MCTSPlayer)]
    if engines:
        engine = engines[0]
    else:
        fallback = fallback or make_player(f"mcts:sims={HINT_SIMULATIONS}", game)
        engine = fallback
    engine.select_move(game, state)
    write(f"hint from {engine.name}:")
    for line in engine.analysis().lines():
        write(line)
    return fallback


def _undo(states, players, game, write):
    """Take back the human's last move and the replies played since; searching players are
    reset, since their trees belong to the abandoned line."""
    human_to_move = game.to_play(states[-1])
    n = len(states) - 1
    while n > 0 and game.to_play(states[n - 1]) != human_to_move:
        n -= 1
    if n == 0:
        write("  nothing to undo")
        return states
    states = states[:n]
    for p in players:
        p.reset(game)
    write(game.render(states[-1]))
    return states
