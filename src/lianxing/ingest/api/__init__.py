"""API connectors: one module per platform API behind one small interface (``base.py``)."""
