"""The HTTP layer: one router per area. Handlers parse, authenticate and call a service."""
