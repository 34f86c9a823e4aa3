"""Where expert games come from: a heuristic alpha-beta player for Connect Four, GNU Go over
GTP for Go, and the generators that make files of expert games for SFT (``selfplay
expert-games``)."""
