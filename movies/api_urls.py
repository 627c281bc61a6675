from django.urls import path

from . import api

app_name = "api"

urlpatterns = [
    path("recommendations", api.recommendations, name="recommendations"),
]
