"""The repository's own templates (template.yaml, accounts/*.yaml) deployed on the embedded
emulator, in one emulator per session: what the emulator's own tests (emulator/tests) cannot
cover without them."""
