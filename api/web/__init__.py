"""The patient and family web page served at ``/app/`` (Jinja2 templates, a little JS)."""

from api.web.routes import install_web

__all__ = ["install_web"]
