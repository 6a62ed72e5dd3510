"""Domain words and rules shared by every layer: metrics, paths, errors. No I/O, no database."""
