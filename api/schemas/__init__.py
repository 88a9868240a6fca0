"""Request and response models, named by role (``VisitCreate``, ``BillPublic``, …)."""
