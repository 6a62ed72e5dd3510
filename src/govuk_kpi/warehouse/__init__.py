"""The star schema, its loaders, rollups and health checks. Knows nothing of notebooks or HTTP."""
