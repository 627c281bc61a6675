from django.urls import path

from movies.web import views

app_name = "movies"

urlpatterns = [
    path("", views.home, name="home"),
    path("movies/<int:movie_id>/", views.movie_detail, name="movie_detail"),
    path("rate/", views.rate, name="rate"),
    path("skip/", views.skip, name="skip"),
    path("hide/", views.hide, name="hide"),
    path("recommendations/", views.recommendations, name="recommendations"),
    path("search/", views.search, name="search"),
    path("ratings/import/", views.ratings_import, name="ratings_import"),
    path("ratings/import/confirm/", views.ratings_import_confirm, name="ratings_import_confirm"),
    path("ratings/export.csv", views.ratings_export, name="ratings_export"),
    path("start-over/", views.start_over, name="start_over"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/delete/", views.account_delete, name="account_delete"),
]
