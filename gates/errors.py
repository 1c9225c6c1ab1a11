"""The errors mlgate raises on purpose.

One root, so the CLI has a single boundary that maps every failure to an exit code. Input
problems (exit 2) are separate from infrastructure failures (exit 3), because exit 1 means
"blocked" and must never be produced by a crash.
"""


class MlgateError(Exception):
    """Root of mlgate's own errors; anything else reaching the CLI is a bug (exit 3)."""

    exit_code = 3


class InputError(MlgateError):
    """The user's input is wrong: config, data, model or command line (exit 2)."""

    exit_code = 2


class ConfigError(InputError):
    """The policy file is invalid; the message names the file, the key path and what was expected."""


class DataError(InputError):
    """The holdout or a predictions file cannot be used; the message names the file and column."""


class ModelError(InputError):
    """A model cannot be loaded safely or does not fit the holdout."""


class RegistryError(InputError):
    """The registry is missing, malformed or does not hold what was asked for."""


class InfrastructureError(MlgateError):
    """Something outside the user's input failed (a service, the disk) (exit 3)."""


class Blocked(MlgateError):
    """A promotion refused because the gate blocks (exit 1, the same meaning as a blocked gate)."""

    exit_code = 1
