"""Amazon report files: Seller Central downloads, SP-API flat files, Ads API reports."""
