"""Tooling for mlops-control-plane: the `mlopscp` CLI, the embedded AWS emulator and the demo.

Nothing here is deployed: the Lambda functions use only layers/ and functions/.
"""
