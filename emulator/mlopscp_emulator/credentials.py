"""Who the emulator's own callers are: moto's default account, and the fake key pair its clients
sign with (the STS extension accepts signatures made with it)."""

DEFAULT_ACCOUNT = "123456789012"  # moto's: what its fake credentials land in
FAKE_KEY = "testing"
