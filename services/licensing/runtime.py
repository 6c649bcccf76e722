"""Every session of a licensing runtime carries its clock and outbox, as the event consumer's
sessions do (`shared.bus.consumer.handler_outbox`): scheduled jobs publish the same way."""

from shared.service import Runtime


async def remember_runtime(runtime: Runtime) -> None:
    runtime.sessionmaker.configure(info={"clock": runtime.clock, "outbox": runtime.outbox})
