"""AliExpress: order API responses and seller order exports (unverified layouts)."""
