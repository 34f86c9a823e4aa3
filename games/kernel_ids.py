"""The id of every game's kernels in the switch of games.kernels (``Game.kernel_id``).

One table, read by each game module (its class's ``kernel_id``) and by the switch (its
branches), so that the ids are written once and the game modules need not import the switch,
which imports them. The switch's njit kernels freeze these values when compiled; the Numba
cache is keyed on every file that mentions njit (games.numba_cache), this one included, so a
changed id recompiles them."""

CONNECT4, GO, TICTACTOE, TOKENS = 0, 1, 2, 3
