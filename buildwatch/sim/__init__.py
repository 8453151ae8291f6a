"""A local simulator of the Develocity Export API and the BuildBuddy API.

It backs `buildwatch sim`, `buildwatch demo`, every test, benchmark and screenshot. It never
imports Textual.
"""

from buildwatch.sim.config import FaultSpec, SimConfig
from buildwatch.sim.server import Simulator, SimulatorThread

__all__ = ["FaultSpec", "SimConfig", "Simulator", "SimulatorThread"]
