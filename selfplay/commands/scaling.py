"""``selfplay scaling``: train-time and test-time compute on boards and on tokens, one figure
(selfplay/scaling.py)."""

from __future__ import annotations

import json
from pathlib import Path

from selfplay.errors import UserError


def add_parser(sub):
    p = sub.add_parser("scaling", help="train-time and test-time compute, boards and tokens: the o1 figure",
                       description="Elo against training time and against simulations per move for a board "
                                   "run, and held-out accuracy against training time and against model calls "
                                   "per problem for a token-mode run; one figure, OUT/scaling.png.")
    p.add_argument("--boards", nargs="+", metavar="RUN_DIR",
                   help="rated board runs in training order (an SFT run, then the RL run from it); the "
                        "newest checkpoint of the last one is the fixed network")
    p.add_argument("--network", metavar="CHECKPOINT", help="the fixed network instead (a checkpoint file)")
    p.add_argument("--sims", default="1,4,16,50,200,800,1600",
                   help="simulations per move, comma-separated (default %(default)s)")
    p.add_argument("--games", type=int, default=16, help="games per number of simulations and reference player")
    p.add_argument("--batch", type=int, default=16, help="board games played at once")
    p.add_argument("--tokens", metavar="LLM_RUN", help="a token-mode run (selfplay llm curve) with an RL phase")
    p.add_argument("--tokens-policy", metavar="CHECKPOINT",
                   help="the checkpoint decoded at test time (default: the run's newest RL policy)")
    p.add_argument("--search", action="append", metavar="SPEC",
                   help="a decoding strategy of selfplay llm solve, repeatable (default: greedy, majority, "
                        "best-of by verifier, value and reward model where the run has one, mcts)")
    p.add_argument("--problems", type=int, default=200, help="held-out token problems")
    p.add_argument("--reward-model", metavar="RUN_DIR", help="the reward model for best-of by=reward-model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/scaling", help="folder of the games, the rows and the figure")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(func=run)


def parse_sims(text: str) -> list[int]:
    try:
        sims = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--sims {text!r}: expected comma-separated whole numbers such as 1,16,200") from None
    if not sims or min(sims) < 1 or len(set(sims)) != len(sims):
        raise UserError(f"--sims {text!r}: give distinct numbers of simulations, each at least 1")
    return sorted(sims)


def run(args, write=print):
    from selfplay import scaling
    if not args.boards and not args.tokens:
        raise UserError("name --boards RUN_DIR ... (a rated board run) and/or --tokens LLM_RUN (a token-mode run)")
    if args.games < 1 or args.batch < 1 or args.problems < 1:
        raise UserError("--games, --batch and --problems must be at least 1")
    for path in [*(args.boards or []), *([args.tokens] if args.tokens else [])]:
        if not Path(path).is_dir():
            raise UserError(f"{path} is not a run directory")
    sims = parse_sims(args.sims)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = (lambda message: None) if args.json else write
    boards = tokens = None
    if args.boards:
        boards = scaling.measure_boards([Path(b) for b in args.boards], out, sims, args.games, args.batch,
                                        args.seed, Path(args.network) if args.network else None, log)
    if args.tokens:
        searches, reward_model = scaling.token_searches(Path(args.tokens), args.search,
                                                        Path(args.reward_model) if args.reward_model else None)
        policy = Path(args.tokens_policy) if args.tokens_policy else None
        tokens = scaling.measure_tokens(Path(args.tokens), out, searches, args.problems, args.seed, reward_model,
                                        policy, log)
    figure = scaling.plot_scaling(boards, tokens, out)
    numbers = {**scaling.summary(boards, tokens), "figure": [str(p) for p in figure]}
    (out / "summary.json").write_text(json.dumps(numbers, indent=1))
    if args.json:
        write(json.dumps(numbers, indent=1))
        return 0
    if boards is not None:
        write("boards: Elo of one network by simulations per move (95% interval, games)")
        for level in numbers["boards"]["levels"]:
            write(f"  {level['simulations']:>5} sims: {level['elo']:6.0f} [{level['elo_low']:.0f}, "
                  f"{level['elo_high']:.0f}]  {level['games']} games")
    if tokens is not None:
        write("tokens: held-out accuracy by strategy (95% interval), model calls per problem")
        for r in tokens.rows:
            write(f"  {r['strategy']:<32} {r['accuracy']:.3f} [{r['accuracy_low']:.3f}, {r['accuracy_high']:.3f}]  "
                  f"{r['model_calls']:.0f} calls")
    write(f"the figure: {', '.join(map(str, figure))}")
    return 0
