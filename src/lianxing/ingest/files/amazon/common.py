"""Amazon vocabularies shared by several Amazon formats (status codes, channels)."""

from __future__ import annotations

from lianxing.domain.facts import OrderStatus

# All Orders "order-status" (and Orders API OrderStatus) → canonical status.
ORDER_STATUS: dict[str, str] = {
    "pending": OrderStatus.PENDING,
    "pending - waiting for pick up": OrderStatus.PENDING,
    "pendingavailability": OrderStatus.PENDING,
    "invoiceunconfirmed": OrderStatus.PENDING,
    "unshipped": OrderStatus.UNSHIPPED,
    "partiallyshipped": OrderStatus.UNSHIPPED,
    "partially shipped": OrderStatus.UNSHIPPED,
    "unfulfillable": OrderStatus.UNSHIPPED,
    "shipping": OrderStatus.SHIPPED,
    "shipped": OrderStatus.SHIPPED,
    "shipped - picked up": OrderStatus.SHIPPED,
    "shipped - out for delivery": OrderStatus.SHIPPED,
    "shipped - returning to seller": OrderStatus.SHIPPED,
    "shipped - returned to seller": OrderStatus.SHIPPED,
    "shipped - rejected by buyer": OrderStatus.SHIPPED,
    "shipped - lost in transit": OrderStatus.SHIPPED,
    "shipped - damaged": OrderStatus.SHIPPED,
    "shipped - delivered to buyer": OrderStatus.DELIVERED,
    "delivered": OrderStatus.DELIVERED,
    "complete": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
    "canceled": OrderStatus.CANCELLED,
}

# "fulfillment-channel" is text in flat files ("Amazon"/"Merchant"), codes in the API.
FULFILLMENT_CHANNEL: dict[str, str] = {
    "amazon": "AFN",
    "afn": "AFN",
    "merchant": "MFN",
    "mfn": "MFN",
    "seller": "MFN",
}


def expected_codes(mapping: dict[str, str]) -> str:
    """'one of: Pending, Shipped, ...' for problem messages."""
    return "one of: " + ", ".join(sorted({k.title() for k in mapping}))
