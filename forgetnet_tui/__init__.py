"""forgetnet_tui: the Textual lab around forgetnet_core."""
