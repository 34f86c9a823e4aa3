"""Subcommands of the ``selfplay`` console script (argument parsing and terminal I/O only)."""
