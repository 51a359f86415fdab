"""`make demo` (`mlopscp demo`): the control plane's scenarios on the embedded emulator.

`runner` runs them (`Demo`, `main`); `scenario` holds what every group shares (`Outcome`, the
`Scenarios` base); each other module is one group: `drift`, `approvals`, `spot`, `promotion`,
`monitor`, `xaccount`, `incidents`. The worlds they act on are in :mod:`mlopscp.worlds`.
Nothing is imported here, so a group's module never imports this package back.
"""
