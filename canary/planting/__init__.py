"""Planting canaries into targets: mappings, host formats, rows, one writer per target kind."""
