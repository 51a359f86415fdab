"""The emulator's own tests, driven through boto3 clients as users call AWS: two small SAM apps
of their own (fixture_app: functions, a layer, a state machine, rules; http_app: a Function URL)
and nothing from the repository around the emulator."""
