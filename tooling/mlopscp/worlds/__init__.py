"""What the local stack (:mod:`mlopscp.local`) seeds on the emulator, one world a module, each
created through AWS APIs in the account it belongs to: `common` (the tooling account, endpoints,
event envelopes), `drift` (models with a Model Monitor history), `training` (Spot jobs and a
training pipeline), `promotion` (registry, staging and production accounts), `xaccount` (the
drift loop across accounts), `monitor` and `traffic` (endpoints watched by the Evidently
monitor, and their synthetic traffic), `hourly` (an endpoint's monitoring laid down hour by
hour, a column broken or back).

A world imports `common` and the worlds it builds on, never `mlopscp.local`: the plane hands
itself to each world (`common.Plane`).
"""
