"""The API's request and answer shapes: the Pydantic models of what goes over the wire.

They live here, apart from the routes in ``lehnz.api``, so they can be imported without the
server (FastAPI, the store, the engine): the Python client (``lehnz.client``) uses the very
same models as the routes, so the two cannot drift apart, and ``import lehnz.client`` stays
light. Depends only on pydantic and the light ``lehnz.catalog.models``,
``lehnz.events.models`` and ``lehnz.timestamps``; keep it so
(``tests/client/test_import_is_light.py``).
"""
