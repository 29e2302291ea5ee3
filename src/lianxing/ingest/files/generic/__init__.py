"""Platform-independent files: FX rates, cost of goods."""
