"""The old name of :mod:`sim.checks` (the input checks every entry point shares), kept while modules of the model
still import it; new code imports :mod:`sim.checks`. ("validate" now means one thing: the held-out validation of
the calibrated model, :mod:`experiments.heldout`, run as ``experiment=validate``.)"""

from sim.checks import *  # noqa: F403
from sim.checks import COMPONENT_LIMIT, EXIT_BAD_INPUT, EXIT_DISK_FULL, NAME_LIMIT, PATH_LIMIT  # noqa: F401
