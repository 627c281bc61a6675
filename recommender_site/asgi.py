"""ASGI entry point (production settings by default)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender_site.settings.prod")

application = get_asgi_application()
