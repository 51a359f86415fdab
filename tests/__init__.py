"""The project's tests, one folder per tier (`make unit contract integration e2e`), plus
`benchmarks` (`make bench`, never `make test`) and `fixtures` (real published samples). The
modules here are helpers every tier may use: `conftest` (samplefile.env), `aws_fixtures` (the
template's tables, handlers loaded as Lambda does), `monitor_files` and `evidently_files` (monitor
output in its real shapes), `monitor_job` (the monitor job's modules), `untrusted_text` (hostile
text and the checks that it stays inert). The emulator's own tests are in emulator/tests.
"""
