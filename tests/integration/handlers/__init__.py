"""The real handlers on moto in-process (`mock_aws`, with the emulator's service extensions
installed where a test needs them): each handler's behaviour against AWS's real shapes, without a
deployed stack. The `*_world` modules seed the accounts, tables and secrets those tests share."""
