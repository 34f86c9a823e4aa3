"""How strong a player is: Elo fits, checkpoint ratings during training, and the Elo curves."""
