"""Talking-book exports: a book as DAISY 2.02 or as numbered MP3s with an M3U playlist, streamed as a ZIP."""
