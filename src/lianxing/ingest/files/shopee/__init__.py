"""Shopee: Open Platform v2 API responses and Seller Centre order exports."""
