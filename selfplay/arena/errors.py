"""The arena's one error class."""

from selfplay.errors import UserError


class ArenaError(UserError):
    """An arena cannot start or go on: bad players, counts, results file or a failing player."""
