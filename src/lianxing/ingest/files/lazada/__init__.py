"""Lazada: Open Platform API responses and Seller Center order exports."""
