"""The events helpdesk handles (its queue is bound to exactly these types)."""

from shared.bus.consumer import EventHandlers

handlers = EventHandlers()
