"""Errors of the search: each says what is wrong and how to fix it, in one line."""

from selfplay.errors import UserError


class MCTSError(UserError):
    """Base class of every error the search raises."""


class MCTSConfigError(MCTSError):
    """A field of MCTSConfig (or a player option) has a value the search cannot use."""


class NodeBudgetError(MCTSError):
    """A tree needs more nodes than its budget allows and growth is disabled."""


class TerminalRootError(MCTSError):
    """A search was asked for from a position where the game is already over."""


class EvaluatorError(MCTSError):
    """An evaluator returned outputs of the wrong shape or with non-finite entries."""
