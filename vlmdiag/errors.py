"""Errors that mean "the user asked for something we cannot do": shown as one line, no traceback."""


class VlmdiagError(Exception):
    """A user-facing error; the CLI prints its message and exits non-zero."""


class ConfigError(VlmdiagError, ValueError):
    """A task config or command-line option that is invalid or cannot be satisfied."""


class BudgetExceeded(VlmdiagError):
    """A generator ran out of attempts: the config is (practically) unsatisfiable."""
