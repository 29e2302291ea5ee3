"""TikTok Shop: Partner API (202309) responses and Seller Center order exports."""
