from django.apps import AppConfig


class MoviesConfig(AppConfig):
    name = "movies"
    verbose_name = "Movie catalog"
    default_auto_field = "django.db.models.BigAutoField"
