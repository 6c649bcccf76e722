"""The event bus: envelope, transactional outbox + relay, inbox + consumer, topology, DLQ replay."""
