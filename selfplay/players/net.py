"""The trained agent as a player: a checkpoint's network guiding MCTS (``net:runs/NAME,sims=400``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from games import Game
from selfplay.agents import missing_message, shipped_or_path
from selfplay.mcts import MCTSPlayer
from selfplay.mcts.eval_cache import MAX_ENTRIES as MAX_EVAL_CACHE
from selfplay.mcts.player import search_config
from selfplay.network import (
    PRECISIONS,
    NetworkEvaluator,
    PolicyValueNet,
    resolve_device,
)
from selfplay.players import PlayerSpecError, read_options
from selfplay.run.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_latest_good,
    read_sections,
)
from selfplay.run.directory import RunDir


def load_network(path: str | Path, device="cpu") -> tuple[Game, PolicyValueNet, dict]:
    """The game, the network and the checkpoint dict of a checkpoint file, of a run directory
    (its newest checkpoint that loads) or of a shipped network's name (``c4``: selfplay.agents),
    rebuilt from the checkpoint's own game and network."""
    path = shipped_or_path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {missing_message(path)}")
    if path.is_dir():
        checkpoints = RunDir(path).checkpoints
        found = load_latest_good(checkpoints if checkpoints.is_dir() else path)
        if found is None:
            raise CheckpointError(f"{path} holds no readable checkpoint")
        _, payload = found
    else:
        payload = load_checkpoint(path)
    game, network = read_sections(payload, path)
    model = PolicyValueNet(game.obs_shape, game.num_actions, network)
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path}: weights do not fit its network config: {e}") from None
    return game, model.to(device).eval(), payload


def make_net_player(game: Game, options: dict[str, str], context: dict) -> MCTSPlayer:
    """Factory for PLAYER_FACTORIES["net"]: ``net:PATH,sims=200,c=1.25,temp=0,seed=-1,device=auto``;
    ``precision=fp32|bf16|int8|auto`` (fp32 by default: ratings stay comparable with earlier ones) and
    ``cache=N`` positions of evaluation cache (0: none; the search is the same, only faster);
    ``sym=N`` averages the network over the game's first N symmetries (1: none; 2 in Connect
    Four is the board and its mirror image, Go has 8), N forwards per evaluation; ``score=W``
    (0 to 1; a network with the score head) searches on KataGo's score utility mixed into the
    value with weight W, preferring larger margins (network.NetworkEvaluator); ``solve=true``
    proves wins and losses from the terminal positions the search reaches (MCTS-Solver,
    mcts.MCTSConfig.solver); ``lcb=Z`` plays the move with the best lower confidence bound
    (mcts.MCTSConfig.lcb); ``ptemp=T`` expands with the policy at softmax temperature T
    (mcts.MCTSConfig.policy_temperature); ``fpu=V,fpumode=reduction|absolute|scaled`` value the
    moves not yet tried (mcts.MCTSConfig.fpu_mode; scaled is Leela Zero's and KataGo's);
    ``cstdev=S`` scales exploration by the spread of each node's values (KataGo's dynamic cPUCT,
    mcts.MCTSConfig.cpuct_stdev_scale; KataGo plays with 0.85); ``oppc=K`` explores K times as much
    where the opponent is to move, modelling it as a player of the policy's moves
    (mcts.MCTSConfig.opponent_explore); ``passrule=true`` passes only where
    the count wins (Leela Zero's pass rule, mcts.passing); ``contempt=D`` (0 to 1, a win/draw/loss
    network, no cache) counts a draw as -D for this player (Leela Chess Zero's contempt,
    mcts.MCTSConfig.contempt)."""
    options = dict(options)
    path = options.pop("", None) or options.pop("path", None)
    if not path:
        raise PlayerSpecError("net: name a checkpoint or run directory, e.g. net:runs/c4,sims=200")
    o = read_options("net", options, sims=200, c=1.25, temp=0.0, seed=-1, device="auto", gumbel=False,
                     precision="fp32", cache=0, sym=1, score=0.0, solve=False, lcb=0.0,
                     ptemp=1.0, fpu=0.25, fpumode="reduction", cstdev=0.0, oppc=1.0, passrule=False,
                     contempt=0.0)
    if o["precision"] not in PRECISIONS:
        raise PlayerSpecError(f"net: precision must be one of {', '.join(PRECISIONS)}, got {o['precision']!r}")
    if not 0 <= o["cache"] <= MAX_EVAL_CACHE:
        raise PlayerSpecError(f"net: cache must be 0 (none) to {MAX_EVAL_CACHE:,} positions, got {o['cache']}")
    if not 1 <= o["sym"] <= game.num_symmetries:
        raise PlayerSpecError(f"net: sym must be 1 (none) to {game.num_symmetries} (the symmetries of "
                              f"{game.name}), got {o['sym']}")
    if not 0 <= o["score"] <= 1:
        raise PlayerSpecError(f"net: score must be 0 (none) to 1 (the score utility's weight), got {o['score']:g}")
    if not 0 <= o["contempt"] <= 1:
        raise PlayerSpecError(f"net: contempt must be 0 (none) to 1 (a draw counted as a loss), got {o['contempt']:g}")
    if o["contempt"] and (o["cache"] or o["sym"] > 1 or o["score"] or o["solve"]):
        raise PlayerSpecError("net: contempt reads the network's draw probability on every evaluation; it does not "
                              "combine with cache, sym, score or solve")
    device = resolve_device(o["device"])
    config = search_config("net", o, contempt=o["contempt"])
    if context.get("check_only"):
        return None
    net_game, model, payload = load_network(path, device)
    if (net_game.name, net_game.num_actions, net_game.obs_shape) != (game.name, game.num_actions, game.obs_shape):
        raise PlayerSpecError(f"net: {path} was trained for {net_game.name} "
                              f"({net_game.num_actions} actions), not for this {game.name} game")
    if o["score"] and not model.config.ownership_head:
        raise PlayerSpecError(f"net: score={o['score']:g} needs a network with the score head; {path} has none "
                              f"(train with network.ownership_head=true)")
    if o["contempt"] and model.config.value_head != "wdl":
        raise PlayerSpecError(f"net: contempt={o['contempt']:g} needs a win/draw/loss network; {path} has a "
                              f"{model.config.value_head} value head (train with network.value_head=wdl)")
    config = replace(config, value_discount=model.config.value_discount)  # what its values mean
    evaluator = NetworkEvaluator(model, device, precision=o["precision"], cache_entries=o["cache"],
                                 symmetries=o["sym"], game=game, score_utility=o["score"],
                                 draws=o["contempt"] > 0)
    precision = "" if evaluator.precision == "fp32" else f",{evaluator.precision}"
    sym = f",sym={o['sym']}" if o["sym"] > 1 else ""
    score = f",score={o['score']:g}" if o["score"] else ""
    lcb = f",lcb={o['lcb']:g}" if o["lcb"] else ""
    ptemp = f",ptemp={o['ptemp']:g}" if o["ptemp"] != 1 else ""
    fpu = "" if (o["fpumode"], o["fpu"]) == ("reduction", 0.25) else f",fpu={o['fpu']:g},fpumode={o['fpumode']}"
    cstdev = f",cstdev={o['cstdev']:g}" if o["cstdev"] else ""
    oppc = f",oppc={o['oppc']:g}" if o["oppc"] != 1 else ""
    passrule = ",passrule" if o["passrule"] else ""
    contempt = f",contempt={o['contempt']:g}" if o["contempt"] else ""
    name = (f"net({Path(path).name}@{payload.get('step', '?')},sims={o['sims']}"
            f"{precision}{sym}{score}{lcb}{ptemp}{fpu}{cstdev}{oppc}{passrule}{contempt})")
    return MCTSPlayer(game, evaluator, config, temperature=o["temp"], name=name)
