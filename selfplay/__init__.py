"""AlphaGo-style self-play: batched Numba MCTS, policy-value networks, SFT then RL."""

__version__ = "0.1.0"

import games  # noqa: F401,E402  (configures the Numba cache before any kernel is compiled)
