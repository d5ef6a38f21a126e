"""Pure trading logic: no I/O, every number of the spec lives here."""
