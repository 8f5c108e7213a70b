"""Sharing a book: poster images with cover, title, reader and QR code, and WeChat's share card where configured."""
