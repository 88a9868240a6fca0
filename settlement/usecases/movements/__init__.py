"""Personal-account movements on the insurance platform: intent first, by key, resolved by query.

``journal`` makes movements (the intent recorded before the call, on a connection of its own when
the platform does not share our transaction; the call with its idempotency key; the intent marked
``done`` with its owner's effect); ``decide`` says, in pure code, what a movement left ``pending``
becomes once the platform has been asked about it; ``resolve`` reads those facts and writes the
decision, for the scheduler's sweep and for a payment that finds its bill's leftovers.
"""
