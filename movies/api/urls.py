from django.urls import path, re_path

from movies.api import views as api

app_name = "api"

urlpatterns = [
    path("recommendations", api.recommendations, name="recommendations"),
    path("predictions", api.predictions, name="predictions"),
    path("movielens-users/<int:user_id>/recommendations", api.movielens_user_recommendations,
         name="movielens_user_recommendations"),
    path("schema", api.schema, name="schema"),
    # Anything else under /api/ answers a JSON 404, not the site's HTML page.
    re_path(r"^(?P<path>.*)$", api.not_found, name="not_found"),
]
