"""``selfplay players``: the player-spec grammar and every kind of player with its options."""

from __future__ import annotations

import argparse

GRAMMAR = """A player spec is KIND or KIND:OPTION=VALUE,OPTION=VALUE,... Kinds that take a path or a
command line take it first, without a name: net:runs/c4,sims=200 or
gtp:"gnugo --mode gtp --level 10",timeout=30 (quoted, it may hold commas and =). Specs name
players wherever one is asked for: play --x/--o, arena, eval-c4, gtp --player, and the
eval.opponents and rating.pool of a run config (;-separated there)."""

#: kind -> (what it is, [(option, default, meaning)]); tests/test_players_doc.py checks these
#: against what each kind's factory accepts.
KINDS = {
    "human": ("you, at the terminal: moves, or hint, undo, resign, quit, help", []),
    "random": ("a uniformly random legal move", [("seed", "none", "random generator seed (0 or more)")]),
    "mcts": ("Monte Carlo tree search with random rollouts (no network)", [
        ("sims", "800", "simulations per move"), ("c", "3.0", "exploration constant (PUCT)"),
        ("eval", "rollout", "leaf evaluation: rollout or uniform"), ("rollouts", "1", "rollouts per leaf"),
        ("temp", "0", "move temperature (0: the most visited)"), ("seed", "-1", "seed (-1: random)"),
        ("gumbel", "false", "Gumbel root search"), ("reuse", "true", "keep the tree between moves"),
        ("solve", "false", "MCTS-Solver: prove wins and losses from the terminal positions reached, play "
                           "a proven win, never a proven loss"),
        ("lcb", "0", "Leela Zero's move choice: the best lower confidence bound on a move's value, "
                     "this many standard errors below its mean (0: the most visited move)"),
        ("passrule", "false", "Leela Zero's pass rule (Go): pass after the opponent's pass where the count "
                              "wins, never into a tied or lost count while another move is as good"),
    ]),
    "net": ("a trained network with MCTS: net:PATH (a run directory, a checkpoint, or a shipped name: c4)", [
        ("sims", "200", "simulations per move (0: the policy's own move)"), ("c", "1.25", "exploration constant"),
        ("temp", "0", "move temperature"), ("seed", "-1", "seed (-1: random)"),
        ("device", "auto", "auto, cpu or cuda"), ("gumbel", "false", "Gumbel root search"),
        ("precision", "fp32", "network arithmetic: fp32, bf16, int8 (CPUs with VNNI) or auto (the fastest "
                              "this device computes natively)"),
        ("cache", "0", "positions kept in the evaluation cache (0: none; the same moves, faster)"),
        ("sym", "1", "the network averaged over this many of the board's symmetries (1: none; Connect "
                     "Four has 2, Go 8), as many forwards per evaluation"),
        ("score", "0", "weight of KataGo's score utility in the search's value (0: none; 0 to 1; a "
                       "network with the score head): larger margins preferred"),
        ("solve", "false", "MCTS-Solver: prove wins and losses from the terminal positions reached, play "
                           "a proven win, never a proven loss"),
        ("lcb", "0", "Leela Zero's move choice: the best lower confidence bound on a move's value, "
                     "this many standard errors below its mean (0: the most visited move)"),
        ("ptemp", "1", "the network's policy at this softmax temperature as the search's priors (above 1: "
                       "flatter, moves it underrates looked at sooner)"),
        ("fpu", "0.25", "first-play urgency: how far below its parent's value an untried move is valued"),
        ("fpumode", "reduction", "reduction (the parent's value less fpu), absolute (fpu itself) or scaled "
                                 "(less fpu * sqrt(prior mass tried), Leela Zero's and KataGo's)"),
        ("cstdev", "0", "KataGo's dynamic cPUCT: exploration scaled by the spread of a node's values "
                        "(0: off; KataGo plays with 0.85)"),
        ("oppc", "1", "exploration where the opponent is to move, this many times the usual (above 1: the "
                      "opponent modelled as playing the policy's moves, weaker than the search)"),
        ("passrule", "false", "Leela Zero's pass rule (Go): pass after the opponent's pass where the count "
                              "wins, never into a tied or lost count while another move is as good"),
        ("contempt", "0", "Leela Chess Zero's contempt: a draw worth minus this to this player (0 to 1; a "
                          "win/draw/loss network, without cache, sym, score or solve)"),
    ]),
    "solver": ("perfect Connect Four play (the exact solver)", [
        ("mode", "best", "best (fastest win, slowest loss) or outcome (any move keeping the result)"),
        ("seed", "-1", "seed of the tie-breaks (-1: random)")]),
    "expert": ("the game's expert: alpha-beta in Connect Four, GNU Go in Go", [
        ("depth", "2", "Connect Four: search depth (1-42)"), ("level", "10", "Go: GNU Go's level (0-10)"),
        ("seed", "-1", "seed (-1: random)"), ("timeout", "60", "Go: seconds GNU Go may take per command")]),
    "gtp": ("any Go engine speaking GTP: gtp:\"COMMAND LINE\"", [
        ("timeout", "30", "seconds the engine may take per command")]),
}


def add_parser(sub):
    from selfplay.commands.examples import epilog
    p = sub.add_parser("players", help="the player-spec grammar and every kind of player with its options",
                       description=GRAMMAR, epilog=epilog("players"),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=run)


def run(args, write=print):
    write(GRAMMAR + "\n")
    for kind, (what, options) in KINDS.items():
        write(f"{kind}: {what}")
        for name, default, meaning in options:
            write(f"    {name + '=' + default:<18} {meaning}")
    return 0
