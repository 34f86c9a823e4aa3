"""The examples each subcommand's ``--help`` ends with, in one place so that they read as a tour
of the tool and stay in step with the README's."""

EXAMPLES = {
    "play": ["selfplay play connect4                      # you (X) against a random player",
             "selfplay play connect4 --o net:c4           # against the shipped network",
             "selfplay play go --size 7 --x mcts:sims=800 --o human",
             "selfplay play connect4 --start 4453 --x human --o solver"],
    "train": ["selfplay train configs/connect4.yaml",
              "selfplay train configs/connect4.yaml selfplay.simulations=100 --name c4-fast",
              "selfplay train --resume runs/connect4 optim.learning_rate=0.0005   # continue, annealed"],
    "sft": ["selfplay expert-games connect4 --games 3000 --out data/c4-expert",
            "selfplay sft configs/connect4.yaml --games data/c4-expert",
            "selfplay sft configs/connect4.yaml --positions data/c4-solver   # a perfect teacher"],
    "solve": ["selfplay solve 4453        # the exact score of the position and of each move"],
    "eval-c4": ["selfplay eval-c4 net:c4,sims=800 --positions ../shared/data/connect4/Test_L2_R2 --limit 200"],
    "arena": ["selfplay arena net:c4,sims=200 expert:depth=4 --games 40 --opening-plies 2",
              "selfplay arena random mcts:sims=50 mcts:sims=400 --games 20 --results runs/ladder.csv",
              "selfplay arena net:runs/go7,sims=400 expert:level=10 --game go --size 7 --komi 9 --games 200"],
    "elo": ["selfplay elo runs/ladder.csv", "selfplay elo runs/connect4/ratings.csv --anchor random"],
    "rate": ["selfplay rate runs/connect4                 # rate every checkpoint not rated yet"],
    "plot-elo": ["selfplay plot-elo runs/curve-connect4-quick/sft runs/curve-connect4-quick/rl"],
    "llm": ["selfplay llm curve configs/llm_addition.yaml",
            "selfplay llm solve runs/llm_addition --search greedy --search mcts:sims=8"],
    "gtp": ["selfplay gtp --player net:runs/go7,sims=400 --size 7 --komi 9   # for Sabaki or GoGui"],
    "expert-games": ["selfplay expert-games connect4 --games 3000 --out data/c4-expert",
                     "selfplay expert-games go --size 7 --games 400 --out data/go7-gnugo"],
    "solver-labels": ["selfplay solver-labels --positions 40000 --out data/c4-solver --workers 2",
                      "selfplay sft configs/connect4.yaml --positions data/c4-solver init_from=c4"],
    "curve": ["selfplay curve --game connect4 --preset quick   # ~15 minutes on 2 CPU cores",
              "selfplay curve --game go --preset quick"],
    "scaling": ["selfplay scaling --boards runs/curve-connect4-quick/sft runs/curve-connect4-quick/rl "
                "--tokens runs/llm_addition"],
    "bench": ["selfplay bench games", "selfplay bench selfplay --json",
              "selfplay bench selfplay --config configs/go9.yaml --device cuda --parallel-games 64,256,1024"],
    "players": ["selfplay players"],
}


def epilog(command: str) -> str | None:
    lines = EXAMPLES.get(command)
    return "examples:\n" + "\n".join(f"  {line}" for line in lines) if lines else None
