"""Training a policy-value network: the run config, self-play, replay, the learner, the trainer loop,
imitation (SFT) and the curve that chains them."""
