"""Read-along: a chapter's text split into sentences, aligned to its master, and served as WebVTT, JSON and EPUB 3.

Alignment runs as a job on the queue after mastering, each in a fresh process under a time limit.
"""
