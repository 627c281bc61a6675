from django.urls import path

from movies.analytics import views as analytics_views

app_name = "analytics"

urlpatterns = [
    path("", analytics_views.dashboard, name="dashboard"),
]
