"""The parity suite's tolerances, defined once in ``nn_rosetta.tolerances`` (with the
reasoning behind each), where the porting tool reads them too."""

from nn_rosetta.tolerances import (
    COLUMN,
    KINDS,
    TOLERANCES,
    TRAJECTORY,
    TRAJECTORY_KINDS,
    Tolerance,
    column,
    tolerance,
)

__all__ = ["COLUMN", "KINDS", "TOLERANCES", "TRAJECTORY", "TRAJECTORY_KINDS", "Tolerance",
           "column", "tolerance"]
