"""Paying bills: the split now, the wallet order, callbacks and orders left pending."""
