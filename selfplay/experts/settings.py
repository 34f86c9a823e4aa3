"""What a file of expert games is made with (stored in its meta.json, checked on a rerun), and
the error of bad settings; the expert table (selfplay.experts.registry) says which fields each
expert reads."""

from __future__ import annotations

from dataclasses import dataclass

from selfplay.errors import UserError


class ExpertGamesError(UserError):
    """Bad settings, or an output directory made with other settings."""


@dataclass(frozen=True)
class Settings:
    """The game, the random opening moves and the fields its expert reads; the others keep
    their defaults, so that meta.json stays the same for the same games."""
    game: str  # a name of selfplay.experts.registry.EXPERTS
    random_plies: int
    depth: int = 0  # connect4: the expert's search depth
    size: int = 0  # go
    komi: float = 0.0
    engine: str = ""  # go: the engine's command line (GNU Go's seed excluded)

    def check(self) -> None:
        if self.random_plies < 0:
            raise ExpertGamesError(f"random opening moves must be >= 0, got {self.random_plies}")
