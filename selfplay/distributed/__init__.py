"""Where self-play and arena games run besides this process: local worker processes and Ray actors."""
