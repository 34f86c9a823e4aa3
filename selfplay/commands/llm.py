"""``selfplay llm sft|grpo|curve CONFIG [key.sub=value ...]``: the LLM mode.

    selfplay llm sft configs/llm_addition.yaml            imitate the teacher -> runs/llm_addition/sft
    selfplay llm grpo configs/llm_addition.yaml           GRPO from that run's SFT checkpoint
    selfplay llm grpo configs/llm_addition.yaml --init runs/other/sft/step-00002000.pt
    selfplay llm ppo configs/llm_addition.yaml            PPO with a critic from that run's SFT checkpoint
    selfplay llm curve configs/llm_addition.yaml          both, then runs/llm_addition/curve.png
    selfplay llm curve --resume runs/llm_addition         continue wherever it stopped
    selfplay llm compare configs/llm_compare_smoke.yaml --seeds 0,1   PPO vs GRPO vs Dr. GRPO -> compare.png
    selfplay llm distill configs/llm_distill_smoke.yaml --init runs/llm_smoke   students of an RL policy, with
                                                          and without its scratchpad -> distill.csv
    selfplay llm r1zero configs/llm_r1zero_smoke.yaml     base stage on answer-free texts, then GRPO from it:
                                                          RL without imitation (R1-Zero)
    selfplay llm overoptimization configs/llm_overoptimization_smoke.yaml   RL and best-of-n against a
                                                          reward model, gold beside proxy -> overoptimization.png
    selfplay llm solve runs/llm_addition --search greedy --search best-of:n=8,by=value
                                                          accuracy and model calls of decoding strategies
"""

from __future__ import annotations

import sys
from pathlib import Path

from selfplay.commands.train import run_dir_of, split_items
from selfplay.errors import UserError


def add_parser(sub):
    p = sub.add_parser("llm", help="LLM mode: SFT on an imperfect teacher, then GRPO past it")
    llm = p.add_subparsers(dest="llm_command", required=True,
                           metavar="sft|grpo|ppo|alphazero|curve|reward-model|overoptimization|plot-overoptimization|compare|"
                                   "solve|distill|r1zero")
    for name, helptext in (("sft", "supervised fine-tuning on the teacher's demonstrations"),
                           ("grpo", "GRPO from an SFT checkpoint"),
                           ("ppo", "PPO with a critic from an SFT checkpoint"),
                           ("alphazero", "AlphaZero on tokens from an SFT checkpoint: MCTS writes, the model "
                                         "learns the search's visits and outcomes"),
                           ("curve", "SFT then GRPO, and the accuracy curve against the teacher"),
                           ("reward-model", "a reward model from simulated pairwise preferences (RLHF)"),
                           ("overoptimization", "RL and best-of-n against a reward model: proxy and gold score "
                                                "against sqrt(KL)"),
                           ("compare", "PPO vs GRPO vs Dr. GRPO on one budget, over seeds: a table and a figure"),
                           ("r1zero", "R1-Zero: a base stage on answer-free texts, then GRPO on the verifier "
                                      "(format reward, curriculum): RL without imitation"),
                           ("distill", "SFT students of an RL policy's answers, with its scratchpad shown and "
                                       "hidden: how much of its accuracy each recovers")):
        q = llm.add_parser(name, help=helptext)
        q.add_argument("items", nargs="*", metavar="CONFIG|KEY=VALUE",
                       help="a config file (configs/llm_addition.yaml) and overrides such as grpo.beta=0.04")
        q.add_argument("--name", help="run name: the run lives in runs/NAME (default: the config's name)")
        q.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
        if name != "overoptimization":  # its measurements are one sitting's: a new --name reruns it
            q.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR where it stopped")
        else:
            q.set_defaults(resume=None)
        if name == "compare":
            q.add_argument("--seeds", help="comma-separated seeds, such as 0,1,2 (sets compare.seeds)")
            q.add_argument("--methods", help="comma-separated methods among ppo,grpo,dr_grpo (sets compare.methods)")
        if name in ("grpo", "ppo", "alphazero"):
            q.add_argument("--init", metavar="CHECKPOINT|RUN_DIR",
                           help="the SFT checkpoint to start from (default: the run's own newest SFT checkpoint)")
        if name == "distill":
            q.add_argument("--init", metavar="CHECKPOINT|RUN_DIR",
                           help="the teacher: a checkpoint, or a run's newest grpo, else ppo, else sft checkpoint "
                                "(a resumed distill keeps its own)")
            q.set_defaults(trailing_items="items")  # overrides may follow the options
        if name == "r1zero":
            q.set_defaults(trailing_items="items")  # overrides may follow the options
        if name == "reward-model":
            q.add_argument("--init", metavar="CHECKPOINT|RUN_DIR",
                           help="the SFT policy whose samples are labelled (default: the run's own newest SFT "
                                "checkpoint, else the teacher's demonstrations)")
        q.set_defaults(func=run, trailing_items="items")  # overrides may follow the options too
    q = llm.add_parser("plot-overoptimization", help="over-optimisation runs side by side: where the gold score "
                                                     "peaks for each (a table and a figure)")
    q.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="runs of `selfplay llm overoptimization`")
    q.add_argument("--out", metavar="DIR", help="where the table and figure go (default: the first run's folder of runs)")
    q.add_argument("--name", default="overoptimization-sweep", help="file name of the table and figure (no suffix)")
    q.set_defaults(func=run_plot_overoptimization)
    q = llm.add_parser("solve", help="answer held-out problems with decoding strategies: accuracy (95%% interval) "
                                     "and model calls per problem")
    q.add_argument("items", nargs="*", metavar="CONFIG|RUN_DIR|KEY=VALUE",
                   help="a config file or a run directory (its config.yaml) giving the task, and overrides")
    q.add_argument("--init", metavar="CHECKPOINT|RUN_DIR",
                   help="the policy: a checkpoint, or a run's newest grpo, else ppo, else sft checkpoint "
                        "(default: the RUN_DIR given)")
    q.add_argument("--search", action="append", required=True, metavar="SPEC",
                   help="a decoding strategy, repeatable: greedy | sample[:n=N] | "
                        "best-of:n=N,by=verifier|value|reward-model | majority:n=N | mcts:sims=N")
    q.add_argument("--problems", type=int, metavar="N", help="the first N held-out problems (default: eval.problems)")
    q.add_argument("--seed", type=int, help="seed of the samples (default: the config's seed)")
    q.add_argument("--reward-model", metavar="RUN_DIR", help="the reward model of best-of by=reward-model")
    q.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    q.add_argument("--plot", metavar="PATH", help="also draw accuracy against model calls to PATH.png and PATH.svg")
    q.set_defaults(func=run_solve, trailing_items="items")


def resolve_init(init: str | None, run_dir: Path, resume: bool, phase: str = "grpo") -> Path:
    """A checkpoint file, or the newest SFT checkpoint of a run directory; a resumed GRPO (or
    PPO) run keeps the one it started from."""
    from selfplay.run.checkpoint import list_checkpoints, load_latest_good
    from selfplay.run.directory import RunDir
    if init is None and resume:
        found = load_latest_good(RunDir(run_dir).phase_checkpoints(phase))
        if found is not None and "init" in found[1]:
            return Path(found[1]["init"])
    path = Path(init) if init else run_dir
    if path.is_file():
        return path
    for folder in (RunDir(path).phase_checkpoints("sft"), path):
        found = list_checkpoints(folder)
        if found:
            return found[-1][1]
    raise UserError(f"no SFT checkpoint in {path}; run `selfplay llm sft` first or pass --init CHECKPOINT")


def run(args):
    from selfplay.commands.bench import format_table
    from selfplay.llm.run import Setting, prepare_run

    config_path, overrides = split_items(args.items)
    run_dir = run_dir_of(args, config_path, "configs/llm_addition.yaml")
    show = sys.stdout.isatty()
    print(f"run directory: {run_dir}")
    if args.llm_command == "curve":
        from selfplay.llm.curve import run_curve, summary_rows
        summary = run_curve(run_dir, config_path, overrides, bool(args.resume), show_progress=show)
        print(format_table("held-out results (last evaluation, its 95% Wilson interval, mean of the last ones)",
                           summary_rows(summary)))
        print(f"curve: {run_dir / 'curve.png'}")
        return 0
    if args.llm_command == "reward-model":
        return run_reward_model(args, run_dir, config_path, overrides, show)
    if args.llm_command == "compare":
        return run_compare(args, run_dir, config_path, overrides)
    if args.llm_command == "r1zero":
        return run_r1zero(args, run_dir, config_path, overrides, show)
    if args.llm_command == "distill":
        return run_distill(args, run_dir, config_path, overrides)
    if args.llm_command == "overoptimization":
        return run_overoptimization(run_dir, config_path, overrides, show)
    phase = args.llm_command
    init = resolve_init(args.init, run_dir, bool(args.resume), phase) if phase in ("grpo", "ppo", "alphazero") \
        else None
    config = prepare_run(run_dir, config_path, overrides, bool(args.resume), phase=phase)
    setting = Setting.build(config)
    if phase == "sft":
        from selfplay.llm.sft import SFTTrainer
        checkpoint = SFTTrainer(setting, run_dir, show_progress=show).train()
    elif phase == "ppo":
        from selfplay.llm.ppo import PPOTrainer
        checkpoint = PPOTrainer(setting, run_dir, init, show_progress=show).train()
    elif phase == "alphazero":
        from selfplay.llm.alphazero import AlphaZeroTrainer
        checkpoint = AlphaZeroTrainer(setting, run_dir, init, show_progress=show).train()
    else:
        from selfplay.llm.grpo import GRPOTrainer
        checkpoint = GRPOTrainer(setting, run_dir, init, show_progress=show).train()
    print(f"done: {checkpoint}")
    return 0


def run_reward_model(args, run_dir: Path, config_path, overrides, show: bool) -> int:
    """``selfplay llm reward-model``: pairs from the SFT policy (--init, or the run's own SFT
    checkpoint) or, with neither, from the teacher; a resumed run keeps its source."""
    from selfplay.commands.bench import format_table
    from selfplay.llm.reward_model import PHASE, train_reward_models
    from selfplay.llm.run import Setting, prepare_run
    from selfplay.run.checkpoint import checkpoint_path, list_checkpoints, load_latest_good
    from selfplay.run.directory import RunDir
    init = None
    if args.init is not None:
        init = resolve_init(args.init, run_dir, False)
    elif args.resume:
        found = load_latest_good(RunDir(run_dir).phase_checkpoints(PHASE))
        init = Path(found[1]["init"]) if found is not None and found[1].get("init") else None
    elif list_checkpoints(RunDir(run_dir).phase_checkpoints("sft")):
        init = resolve_init(None, run_dir, False)
    config = prepare_run(run_dir, config_path, overrides, bool(args.resume), phase=PHASE)
    trainers = train_reward_models(Setting.build(config), run_dir, init, show_progress=show)
    for trainer in trainers:
        title = f"{trainer.phase.name}{f' (member {trainer.member + 1})' if len(trainers) > 1 else ''}, held-out pairs"
        print(format_table(title, [{"figure": k, "value": v} for k, v in trainer.results.items()]))
    print(f"done: {', '.join(str(checkpoint_path(t.phase.directory, t.step)) for t in trainers)}")
    return 0


def run_overoptimization(run_dir: Path, config_path, overrides, show: bool) -> int:
    """``selfplay llm overoptimization``: the proxy is ``overoptimization.proxy`` (a run directory
    with an SFT checkpoint and a reward model), or this run's own, trained when missing."""
    from selfplay.commands.bench import format_table
    from selfplay.configio import load_config
    from selfplay.llm import overoptimization
    from selfplay.llm.config import LLMConfig
    from selfplay.llm.run import prepare_run
    overoptimization.check_new_run(run_dir, load_config(LLMConfig, config_path, overrides))  # before config.yaml
    config = prepare_run(run_dir, config_path, overrides, False, phase="overoptimization")
    summary = overoptimization.run_overoptimization(run_dir, config, show_progress=show)
    print(format_table("over-optimisation: gold (the labeller's) and proxy (the reward model's) against "
                       "d = sqrt(KL to the initial policy)", [{"figure": k, "value": v} for k, v in summary.items()]))
    print(f"points: {run_dir / overoptimization.CSV_NAME}\nfigure: {run_dir / overoptimization.FIGURE_NAME}.png")
    return 0


def run_plot_overoptimization(args) -> int:
    """``selfplay llm plot-overoptimization RUN_DIR ...``: selfplay/llm/overoptimization_sweep.py."""
    from selfplay.commands.bench import format_table
    from selfplay.llm.overoptimization_sweep import compare_runs, format_rows
    out = Path(args.out) if args.out else Path(args.run_dirs[0]).parent
    for run_dir in args.run_dirs:
        if not Path(run_dir).is_dir():
            raise UserError(f"{run_dir} is not a run directory")
    rows = compare_runs(args.run_dirs, out, args.name)
    print(format_table("over-optimisation runs: the gold score's peak and end (95% intervals over prompts)",
                       format_rows(rows)))
    print(f"table: {out / (args.name + '.csv')}\nfigure: {out / (args.name + '.png')}")
    return 0


def run_compare(args, run_dir: Path, config_path, overrides) -> int:
    """``selfplay llm compare``: PPO, GRPO and Dr. GRPO on one budget (selfplay/llm/compare.py)."""
    import json

    from selfplay.commands.bench import format_table
    from selfplay.llm.compare import run_compare as compare
    overrides = list(overrides)
    for key, value in (("seeds", args.seeds), ("methods", args.methods)):
        if value is not None:
            overrides.append(f"compare.{key}={json.dumps(value)}")
    rows = compare(run_dir, config_path, overrides, bool(args.resume))
    print(format_table("held-out greedy accuracy at the end of each method (mean over seeds, 95% t interval over "
                       "seeds; per seed, its Wilson interval over problems)", rows))
    print(f"table: {run_dir / 'compare.csv'}\nfigure: {run_dir / 'compare.png'}")
    return 0


def run_distill(args, run_dir: Path, config_path, overrides) -> int:
    """``selfplay llm distill``: students of an RL policy, scratchpad shown and hidden (selfplay/llm/distill.py)."""
    from selfplay.commands.bench import format_table
    from selfplay.llm import distill
    rows = distill.run_distill(run_dir, config_path, overrides, args.init, bool(args.resume))
    print(format_table("held-out greedy accuracy of the teacher and its students (95% Wilson interval over "
                       "problems; recovered: student / teacher; keep rate: the teacher's samples kept)",
                       distill.format_rows(rows)))
    print(f"table: {run_dir / distill.CSV_NAME}")
    return 0


def run_r1zero(args, run_dir: Path, config_path, overrides, show: bool) -> int:
    """``selfplay llm r1zero``: a base stage, then GRPO from it (selfplay/llm/r1zero.py)."""
    from selfplay.commands.bench import format_table
    from selfplay.llm.r1zero import run_r1zero as r1zero
    summary = r1zero(run_dir, config_path, overrides, bool(args.resume), show_progress=show)
    print(format_table("R1-Zero: the base stage beside chance, then GRPO (held-out greedy accuracy; train_*: the "
                       "training batches since the last evaluation)", [{"figure": k, "value": v}
                                                                     for k, v in summary.items()]))
    print(f"eval: {run_dir / 'eval.csv'}")
    return 0


def run_solve(args) -> int:
    """``selfplay llm solve``: decoding strategies on held-out problems (selfplay/llm/solve.py)."""
    import json

    from selfplay.commands.bench import format_table
    from selfplay.llm import solve
    from selfplay.llm.rewards import make_scorer
    from selfplay.llm.run import Setting
    strategies = [solve.parse_spec(spec) for spec in args.search]
    if any(map(solve.needs_reward_model, strategies)) and not args.reward_model:
        raise UserError("best-of by=reward-model needs --reward-model RUN_DIR (a run of `selfplay llm reward-model`)")
    if args.problems is not None and args.problems < 1:
        raise UserError(f"--problems must be positive, got {args.problems}")
    config_or_run, overrides = split_items(args.items)
    if args.problems is not None:
        overrides.append(f"eval.problems={args.problems}")  # the held-out draw's first N problems
    checkpoint = solve.policy_checkpoint(solve.default_init(config_or_run, args.init))
    setting = Setting.build(solve.read_config(config_or_run, args.init, overrides))
    policy = solve.load_policy(setting, checkpoint)
    scorer = None
    if any(map(solve.needs_reward_model, strategies)):
        scorer = make_scorer(setting, f"model:{args.reward_model}", where="--reward-model")
    seed = setting.config.seed if args.seed is None else args.seed
    rows = solve.solve(policy, setting, setting.eval_problems, strategies, seed, scorer)
    if args.plot:
        solve.plot_rows(rows, args.plot, f"Test-time compute: {checkpoint.parent.parent.name}, "
                                         f"{len(setting.eval_problems)} held-out problems")
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"policy: {checkpoint}\nseed: {seed}")
    print(format_table("held-out accuracy by decoding strategy (95% Wilson interval over problems) and model calls "
                       "(token positions) per problem", [
                           {"strategy": r["strategy"], "accuracy": r["accuracy"],
                            "95% interval": f"[{r['accuracy_low']:.3f}, {r['accuracy_high']:.3f}]",
                            "problems": r["problems"], "calls/problem": r["model_calls"],
                            "verifier checks/problem": r["verifier_checks"]} for r in rows]))
    return 0
