"""Form parsing: ratings, movie ids, the skip's on-screen ids, the start-over confirmation."""
import pytest

from movies import services
from movies.web import forms


@pytest.mark.parametrize("data, expected", [({"movie_id": "3", "rating": "4.5"}, 4.5), ({"movie_id": "3", "rating": "5.0"}, 5.0)])
def test_rating_form_accepts_half_stars(data, expected):
    form = forms.RatingForm(data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["rating"] == expected
    assert form.cleaned_data["movie_id"] == 3


def test_rating_form_rejects_out_of_range_rating_with_the_service_message():
    form = forms.RatingForm({"movie_id": "3", "rating": "7"})
    assert not form.is_valid()
    assert form.errors["rating"] == [services.ERROR_RATING_OUT_OF_RANGE]


def test_rating_form_needs_a_rating_unless_clearing():
    assert forms.RatingForm({"movie_id": "3"}).errors["__all__"] == [forms.ERROR_PICK_A_RATING]
    clearing = forms.RatingForm({"movie_id": "3", "clear": "1"})
    assert clearing.is_valid()
    assert clearing.cleaned_data["rating"] is None


@pytest.mark.parametrize("movie_id", ["", "abc", "0", "-4", "99999999999"])
def test_rating_form_rejects_bad_movie_ids(movie_id):
    form = forms.RatingForm({"movie_id": movie_id, "rating": "3"})
    assert form.errors["movie_id"] == [forms.ERROR_BAD_MOVIE]


def test_movie_action_form_keeps_only_numeric_shown_ids():
    form = forms.MovieActionForm({"movie_id": "5", "shown": "5, 6,x,,7;8,-1"})
    assert form.is_valid()
    assert form.cleaned_data["shown"] == [5, 6]


def test_movie_action_form_caps_the_shown_list():
    form = forms.MovieActionForm({"movie_id": "5", "shown": ",".join(str(i) for i in range(1, 400))})
    assert form.is_valid()
    assert len(form.cleaned_data["shown"]) == forms.MAX_SHOWN_IDS


def test_start_over_form_requires_the_confirmation_box():
    assert forms.StartOverForm({}).errors["confirm"] == [forms.ERROR_CONFIRM_START_OVER]
    assert forms.StartOverForm({"confirm": "on"}).is_valid()
