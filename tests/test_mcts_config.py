"""MCTSConfig: defaults are valid, bad values name their field, the kernels' parameter array."""

import pytest

from selfplay.errors import UserError
from selfplay.mcts import MCTSConfig, MCTSConfigError
from selfplay.mcts.config import (
    C_PUCT,
    FPU_MODE,
    FPU_VALUE,
    GUMBEL,
    SIGN,
    SQUARES,
    VIRTUAL_LOSS,
)


def test_defaults_are_valid():
    config = MCTSConfig()
    assert config.num_simulations == 800 and config.two_player and config.tree_reuse


@pytest.mark.parametrize("field, value, message", [
    ("num_simulations", -1, "num_simulations must be >= 0"),
    ("num_simulations", 1.5, "num_simulations must be a finite int"),
    ("num_simulations", True, "num_simulations must be a finite int"),
    ("leaves_per_round", 0, "leaves_per_round must be >= 1"),
    ("c_puct", -0.1, "c_puct must be >= 0"),
    ("c_puct", float("nan"), "c_puct must be a finite float"),
    ("c_puct", "1.5", "c_puct must be a finite float"),
    ("dirichlet_fraction", 1.5, "dirichlet_fraction must be in"),
    ("fpu_mode", "zero", "fpu_mode must be one of"),
    ("gumbel_considered", 0, "gumbel_considered must be >= 1"),
    ("initial_nodes", -5, "initial_nodes must be >= 0"),
    ("seed", "7", "seed must be an integer"),
    ("cpuct_stdev_scale", -0.5, "cpuct_stdev_scale must be >= 0"),
    ("cpuct_stdev_prior", 0.0, "cpuct_stdev_prior must be > 0"),
])
def test_bad_values_name_the_field(field, value, message):
    with pytest.raises(MCTSConfigError, match=message) as info:
        MCTSConfig(**{field: value})
    assert isinstance(info.value, UserError)  # the CLI prints it as one line


def test_noise_needs_a_positive_alpha():
    with pytest.raises(MCTSConfigError, match="dirichlet_alpha"):
        MCTSConfig(dirichlet_fraction=0.25, dirichlet_alpha=0.0)
    MCTSConfig(dirichlet_fraction=0.0, dirichlet_alpha=0.0)  # no noise, alpha unused


def test_the_dynamic_cpuct_needs_one_walk_per_round_and_the_squares():
    with pytest.raises(MCTSConfigError, match="cpuct_stdev_scale needs leaves_per_round = 1"):
        MCTSConfig(cpuct_stdev_scale=0.85, leaves_per_round=4)
    assert MCTSConfig(cpuct_stdev_scale=0.85).params()[SQUARES] == 1.0
    assert MCTSConfig().params()[SQUARES] == 0.0


def test_params_carry_the_config_to_the_kernels():
    p = MCTSConfig(c_puct=2.0, fpu_mode="absolute", fpu_value=1.0, two_player=False, gumbel=True).params()
    assert (p[C_PUCT], p[FPU_MODE], p[FPU_VALUE], p[SIGN], p[GUMBEL]) == (2.0, 1.0, 1.0, 1.0, 1.0)
    assert MCTSConfig().params()[SIGN] == -1.0
    # Virtual loss only matters with several walks per round.
    assert MCTSConfig(virtual_loss=1.0).params()[VIRTUAL_LOSS] == 0.0
    assert MCTSConfig(virtual_loss=1.0, leaves_per_round=4).params()[VIRTUAL_LOSS] == 1.0
