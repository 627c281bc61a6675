/* Progressive enhancement for the rating page. Without this file every control is a plain form
   that posts and redirects back; with it, ratings, skips and "not interested" happen in place. */
(function () {
  "use strict";

  var FETCH_HEADERS = { "X-Requested-With": "fetch" };
  var toastTimer = null;

  function toast(message, isError) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.classList.toggle("is-error", !!isError);
    box.classList.add("is-visible");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.classList.remove("is-visible"); }, isError ? 5000 : 2200);
  }

  function post(form, extra) {
    var data = new FormData(form);
    Object.keys(extra || {}).forEach(function (key) { data.set(key, extra[key]); });
    var token = data.get("csrfmiddlewaretoken") || "";
    return fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: Object.assign({ "X-CSRFToken": token }, FETCH_HEADERS),
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      var body = type.indexOf("application/json") >= 0 ? response.json() : response.text();
      return body.then(function (payload) {
        if (!response.ok) {
          var message = (payload && payload.error) || "Something went wrong; nothing was changed.";
          throw new Error(message);
        }
        return { response: response, payload: payload };
      });
    });
  }

  function recsSection() { return document.getElementById("recommendations"); }

  function currentSeed() {
    var panel = document.querySelector("#recommendations .recs");
    return panel ? panel.getAttribute("data-seed") || "0" : "0";
  }

  // Quick ratings start overlapping refreshes whose answers can arrive out of order: only the
  // newest request may paint the panel, so an older answer never hides a newer rating.
  var latestRefresh = 0;

  function refreshRecommendations(seed) {
    var section = recsSection();
    if (!section) return Promise.resolve();
    var panel = section.querySelector(".recs");
    if (panel) panel.classList.add("is-loading");
    var request = ++latestRefresh;
    var url = section.getAttribute("data-url") + "?seed=" + encodeURIComponent(seed == null ? currentSeed() : seed);
    return fetch(url, { headers: FETCH_HEADERS, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("Could not refresh recommendations.");
        return response.text();
      })
      .then(function (html) { if (request === latestRefresh) section.innerHTML = html; })
      .catch(function (error) {
        if (request !== latestRefresh) return;
        if (panel) panel.classList.remove("is-loading");
        toast(error.message, true);
      });
  }

  function setRatedCount(count) {
    document.querySelectorAll(".rated-count").forEach(function (node) { node.textContent = count; });
  }

  function showRating(form, rating) {
    var output = form.querySelector(".rate-form__value");
    var clear = form.querySelector(".rate-form__clear");
    if (rating == null) {
      form.querySelectorAll("input[name=rating]").forEach(function (input) { input.checked = false; });
    }
    if (output) output.textContent = rating == null ? "" : rating + " \u2605";
    if (clear) clear.hidden = rating == null;
    form.classList.toggle("is-rated", rating != null);
    var card = form.closest(".rate-card");
    if (card) card.classList.toggle("is-rated", rating != null);
  }

  function sendRating(form, extra) {
    form.classList.add("is-busy");
    return post(form, extra)
      .then(function (result) {
        var data = result.payload;
        showRating(form, data.rating);
        setRatedCount(data.rated_count);
        toast(data.rating == null ? "Rating cleared" : "Rated " + data.rating + " \u2605");
        return refreshRecommendations();
      })
      .catch(function (error) { toast(error.message, true); })
      .finally(function () { form.classList.remove("is-busy"); });
  }

  function shownIds() {
    return Array.prototype.map.call(
      document.querySelectorAll("#rate-grid .rate-card"),
      function (card) { return card.getAttribute("data-movie-id"); }
    ).join(",");
  }

  function skip(form) {
    var card = form.closest(".rate-card");
    if (!card) return;
    card.classList.add("is-leaving");
    post(form, { shown: shownIds() })
      .then(function (result) {
        var html = (result.payload || "").trim();
        if (!html) { card.remove(); toast("No more movies to show"); return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.firstElementChild;
        fresh.classList.add("is-entering");
        card.replaceWith(fresh);
        var title = fresh.querySelector(".card__title a");
        toast("Skipped. Here is another one.");
        if (title && document.activeElement === document.body) title.focus();
      })
      .catch(function (error) { card.classList.remove("is-leaving"); toast(error.message, true); });
  }

  function hide(form) {
    var card = form.closest(".rec-card");
    if (card) card.classList.add("is-leaving");
    post(form)
      .then(function (result) {
        recsSection().innerHTML = result.payload;
        toast("Got it, we won't suggest that again.");
      })
      .catch(function (error) { if (card) card.classList.remove("is-leaving"); toast(error.message, true); });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.name === "rating" && input.form && input.form.classList.contains("rate-form")) {
      sendRating(input.form);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    if (form.classList.contains("rate-form")) {
      event.preventDefault();
      if (submitter && submitter.name === "clear") {
        sendRating(form, { clear: "1", rating: "" });
      } else {
        sendRating(form);
      }
    } else if (form.classList.contains("skip-form")) {
      event.preventDefault();
      skip(form);
    } else if (form.classList.contains("hide-form")) {
      event.preventDefault();
      hide(form);
    }
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.shuffle");
    if (!link) return;
    event.preventDefault();
    refreshRecommendations(link.getAttribute("data-next-seed"));
  });
})();
