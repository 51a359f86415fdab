"""One module per `mlopscp` command group."""
