"""Measuring a network or player without an Elo fit: matches during training and Connect Four
benchmark positions scored by the solver."""
