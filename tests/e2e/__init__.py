"""End-to-end tier (`make e2e`): the demo's scenarios and the approval pages on the local stack
(`mlopscp.local` on the embedded emulator), the browser tests through Debian's Chromium."""
