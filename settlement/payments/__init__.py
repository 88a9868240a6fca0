"""Paying bills (the wallet port, settlement records, callbacks) and refunds after settlement.

- :mod:`settlement.payments.tables`: settlement records, wallet orders, the callback log and the
  sandbox wallet's own tables.
- :mod:`settlement.payments.wallets`: the ``WalletProvider`` port, callback signing, the sandbox
  provider and the dispatcher that delivers its callbacks.
- :mod:`settlement.payments.service`: ``start_payment``, ``confirm_payment``, ``fail_payment`` and
  ``receive_callback``.
"""
