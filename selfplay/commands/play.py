"""``selfplay play GAME``: a game in the terminal between any two players (human, random,
mcts:sims=N, ...), the board redrawn after every move, with undo and hints for humans."""

from __future__ import annotations

from games import GAME_NAMES, Game, make_game
from games.registry import game_entry
from selfplay.commands.argtypes import finite_float
from selfplay.mcts import MCTSPlayer
from selfplay.players import Player, Resignation, make_player
from selfplay.players.human import HintRequest, HumanPlayer, QuitRequest, UndoRequest, read_terminal_line

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
    players = [make_player(spec, game, read_line=read_line, write=write) for spec in (args.first, args.second)]
    states = [game.initial_state()]
    for text in game.split_moves(args.start):
        states.append(game.step(states[-1], game.parse_move(text)))
    for p in players:
        p.reset(game)
    names = [f"{game.player_name(i)} ({p.name})" for i, p in enumerate(players)]
    write(f"{game.name}: {names[0]} vs {names[1]}")
    write(game.render(states[-1]))
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
            continue
        except HintRequest:
            hint_engine = _hint(game, state, players, hint_engine, write)
            continue
        except Resignation:
            write(f"{game.player_name(game.to_play(state))} ({mover.name}) resigns")
            write(f"result: {game.resignation_string(state)}")
            return 0
        for p in {id(p): p for p in players}.values():
            p.observe(game, state, action)
        states.append(game.step(state, action))
        if not isinstance(mover, HumanPlayer):
            write(f"{game.player_name(game.to_play(state))} plays {game.format_move(action)}")
        write(game.render(states[-1]))
    write(f"result: {game.result_string(states[-1])}")
    return 0


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
