"""The offline quality benchmark: a time split of any store's export, lehnz beside baselines.

Behind ``lehnz bench quality``. lehnz is measured through the same code that serves
production (store, importer, pipeline, trainer, recommender), or through the public API of a
running server with ``--http``.
"""
