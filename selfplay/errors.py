"""Errors that mean "the user asked for something wrong": the CLI prints them as one line."""


class UserError(Exception):
    """Bad input from a user (a spec, a file, a config, a command line): reported, not traced."""
