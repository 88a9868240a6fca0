"""Adapters to outside systems, each behind a port with a sandbox implementation.

- :mod:`settlement.foundation.ports`: the ports (``InsurancePlatform``, ``CreditPlatform``) and the
  values they return.
- :mod:`settlement.adapters.sandbox`: the sandbox platforms, over the ``sandbox_insured_persons``
  table (:mod:`settlement.adapters.sandbox_tables`).
"""
