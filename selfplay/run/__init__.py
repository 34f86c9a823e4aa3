"""The run directory, the contract between stages (as in KataGo): its layout, checkpoints and log."""
