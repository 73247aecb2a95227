"""Live updates: read feed sources, fetch, parse, tag, dedupe and store their entries."""
