"""Podcast feeds: RSS 2.0 with the iTunes and Podcasting 2.0 namespaces, one per section and per book."""
