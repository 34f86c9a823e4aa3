"""AlphaGo-style self-play: batched Numba MCTS, policy-value networks, SFT then RL."""

__version__ = "0.1.0"
