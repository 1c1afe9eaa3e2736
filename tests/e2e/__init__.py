"""End-to-end tests: whole cycles against the sandbox emulator."""
