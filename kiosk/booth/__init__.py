"""The recording booth: volunteers' takes, their moderation and re-mastering, originals, texts.

Takes are mastered off the request path by the job queue.
"""
