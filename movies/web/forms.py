"""Forms for the browser pages; they parse and validate input, the services do the writing."""
from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError

from movies import services
from movies.integrations import rating_files
from movies.parsing import parse_int

ERROR_PICK_A_RATING = "Pick a number of stars, or choose Clear."
ERROR_CONFIRM_START_OVER = "Tick the box to confirm that everything should be cleared."
ERROR_BAD_MOVIE = services.ERROR_UNKNOWN_MOVIE

# At most this many "cards on screen" ids are accepted with a skip (the grid holds 12).
MAX_SHOWN_IDS = 100


MAX_MOVIE_ID = 2**31 - 1


class MovieIdField(forms.IntegerField):
    default_error_messages = {"invalid": ERROR_BAD_MOVIE, "required": ERROR_BAD_MOVIE}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_MOVIE_ID)
        kwargs.setdefault("error_messages", {"min_value": ERROR_BAD_MOVIE, "max_value": ERROR_BAD_MOVIE})
        super().__init__(**kwargs)

    def to_python(self, value):
        # ASCII digits only: IntegerField's int() would take "٣" or "1_0" (see movies.parsing).
        if value in self.empty_values:
            return None
        number = parse_int(str(value).strip(), low=1, high=MAX_MOVIE_ID)
        if number is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class RatingForm(forms.Form):
    """A half-star rating for one movie, or ``clear`` to remove it."""

    movie_id = MovieIdField()
    rating = forms.CharField(required=False, max_length=10)
    clear = forms.BooleanField(required=False)

    def clean_rating(self):
        value = self.cleaned_data["rating"].strip()
        if value == "":
            return None
        return services.rating_parse(value=value)

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("clear") and cleaned.get("rating") is None:
            raise ValidationError(ERROR_PICK_A_RATING, code="missing")
        return cleaned


class MovieActionForm(forms.Form):
    """Skip or hide one movie. ``shown`` lists the ids on screen so a replacement is not a duplicate."""

    movie_id = MovieIdField()
    shown = forms.CharField(required=False, max_length=2000)

    def clean_shown(self) -> list[int]:
        ids = []
        for part in self.cleaned_data["shown"].split(","):
            number = parse_int(part.strip(), low=1, high=MAX_MOVIE_ID)
            if number is not None:
                ids.append(number)
        return ids[:MAX_SHOWN_IDS]


ERROR_WRONG_PASSWORD = "That is not your password."


class StartOverForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes, delete all my ratings, skipped and hidden movies",
        error_messages={"required": ERROR_CONFIRM_START_OVER},
    )


class AccountDeleteForm(forms.Form):
    """Deleting an account asks for its password, so a borrowed signed-in browser cannot do it."""

    password = forms.CharField(label="Your password", strip=False, widget=forms.PasswordInput)
    confirm = forms.BooleanField(
        label="Yes, delete my account and all my ratings, skipped and hidden movies",
        error_messages={"required": ERROR_CONFIRM_START_OVER},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(ERROR_WRONG_PASSWORD, code="wrong_password")
        return password


class SearchForm(forms.Form):
    q = forms.CharField(label="Search movies by title", max_length=100, required=False, strip=True)


class SignupForm(UserCreationForm):
    """Django's own sign-up form; the view moves the visitor's ratings into the new account."""


ERROR_NO_FILE = "Choose the CSV file of your IMDb or Letterboxd ratings."


class RatingFileForm(forms.Form):
    """An IMDb or Letterboxd ratings export; ``cleaned_data["file"]`` is the parsed
    :class:`movies.integrations.rating_files.RatingFile`."""

    file = forms.FileField(label="Your ratings file (CSV)", error_messages={"required": ERROR_NO_FILE,
                                                                          "empty": rating_files.ERROR_EMPTY,
                                                                          "invalid": ERROR_NO_FILE})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Checked before reading: a huge upload is refused without loading it.
        if upload.size > rating_files.MAX_BYTES:
            raise ValidationError(rating_files.ERROR_TOO_BIG, code="too_big")
        try:
            return rating_files.rating_file_parse(upload.read(rating_files.MAX_BYTES + 1))
        except rating_files.RatingFileError as error:
            raise ValidationError(str(error), code="bad_file") from None
