"""``selfplay gtp --player SPEC --size 9 [--komi K]``: our agent as a GTP engine on stdin/stdout,
for Sabaki, GoGui, twogtp or any GTP controller (see selfplay/gtp/engine.py)."""

from __future__ import annotations

import io
import os
import select
import sys

from games import GameError
from games.go import fair_komi
from selfplay.commands.argtypes import finite_float
from selfplay.errors import UserError
from selfplay.gtp.engine import GTPEngine
from selfplay.players import check_spec, make_player

DEFAULT_PLAYER = "mcts:sims=1000"


def add_parser(sub):
    p = sub.add_parser("gtp", help="run a player as a GTP engine (Sabaki, GoGui, twogtp)",
                       description="Speak GTP 2 on standard input and output. Point a GUI at "
                                   "'selfplay gtp --player SPEC'. Nothing but GTP is written to standard output.")
    p.add_argument("--player", default=DEFAULT_PLAYER, metavar="SPEC",
                   help=f"the player that generates moves (default {DEFAULT_PLAYER}: rollout MCTS); "
                        "e.g. net:runs/go9,sims=400, expert:level=10")
    p.add_argument("--size", type=int, default=9, help="board size until the controller sends boardsize")
    p.add_argument("--komi", type=finite_float, default=None, help="komi until the controller sends komi "
                                                            "(default: by board size, as in selfplay play)")
    p.add_argument("--name", default="selfplay", help="the engine's name, as answered to 'name'")
    p.set_defaults(func=run)


def input_waiting(fd: int):
    """Whether the controller has sent more (it ends a streaming analysis): the descriptor is
    readable. A line already read ahead into the text buffer is not seen, which is why a
    controller sends one command and waits, as Sabaki does."""
    def pending() -> bool:
        return bool(select.select([fd], [], [], 0)[0])
    return pending


def exit_if_failed(command: str):
    """A done-callback for the engine's first player: a player that cannot be built (a missing
    checkpoint, a bad option) ends the process at once with the error, as any command's bad
    input does, instead of at the first genmove."""
    def check(ready):
        error = ready.exception()
        if error is None:
            return
        if isinstance(error, (UserError, GameError)):
            print(f"selfplay {command}: error: {error}", file=sys.stderr, flush=True)
            os._exit(2)
        print(f"selfplay {command}: internal error building the player: {type(error).__name__}: {error}",
              file=sys.stderr, flush=True)
        os._exit(1)
    return check


def run(args, stdin=None, stdout=None):
    komi = fair_komi(args.size) if args.komi is None else args.komi
    check_spec(args.player)  # the syntax and kind at once; the rest when the player is built

    def build(game):
        return make_player(args.player, game)

    try:
        engine = GTPEngine(build, size=args.size, komi=komi, name=args.name)
    except GameError as e:
        raise UserError(str(e)) from None
    pending = None
    if stdin is None:  # bytes that are not UTF-8 become U+FFFD (an unknown command), whatever the locale
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
        pending = input_waiting(sys.stdin.fileno())
        engine.player_ready.add_done_callback(exit_if_failed("gtp"))
    try:
        engine.run(stdin, stdout or sys.stdout, pending)
    except BrokenPipeError:  # the controller closed its end: nothing is left to answer
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nor to flush at exit
    return 0
