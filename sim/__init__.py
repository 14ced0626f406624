"""The model floor: population, ties, weekly rules, programmes, indicators (see docs/architecture.md)."""

from sim.speed import defer_unused

defer_unused()  # Mesa's spaces, with their networkx and scipy.spatial, load on first use (sim.speed.deferred)
