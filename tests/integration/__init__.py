"""Integration tier (`make integration`): `handlers` runs the real handlers on moto in-process;
`templates` deploys the repository's templates on the embedded emulator; the modules here run
the monitor job for real (.venv-monitor) and `mlopscp pipeline upsert` against moto. The
emulator's own tests (emulator/tests) run in the same target."""
