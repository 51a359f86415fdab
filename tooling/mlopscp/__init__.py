"""Tooling for mlops-control-plane: the `mlopscp` CLI (`cli`, `commands`), the pipeline
blueprints (`pipelines`), the local stack on the embedded emulator (`local`, `worlds`), the demo
(`demo`), `replay`, and the Slack stand-in (`slack_standin`). See tooling/README.md.

Nothing here is deployed: the Lambda functions use only layers/ and functions/. The embedded
emulator is a package of its own, `mlopscp_emulator` (emulator/), which imports nothing from here.
"""
