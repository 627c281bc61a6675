"""WSGI entry point: gunicorn recommender_site.wsgi (production settings by default)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender_site.settings.prod")

application = get_wsgi_application()
