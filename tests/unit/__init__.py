"""Unit tier: pure logic (the decision core, parsers, the CLI's offline commands), run with
sockets switched off (`make unit`)."""
