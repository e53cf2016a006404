"""The pipeline: tails the event log per organisation and keeps derived state current.

Identity stitching, each user's recent history, cart and price profile, and attribution of
events to the recommendation lists they came from. Pure functions over plain data
(``state``, ``weights``) do the work; ``worker`` moves them through the store.
"""
