"""The web app's language picker: ?lang= picks and a cookie keeps it; every page and the exercise follow it."""

from __future__ import annotations

from typing import Any


def test_the_picker_sets_the_language_and_the_cookie_keeps_it(new_client: Any) -> None:
    c = new_client()
    r = c.get("/")
    assert '<html lang="en">' in r.text and "Pick a chapter and a level" in r.text
    assert 'href="/?lang=hi"' in r.text and "हिन्दी" in r.text and "বাংলা" in r.text  # the picker, each language in itself
    r = c.get("/?lang=hi")
    assert '<html lang="hi">' in r.text
    assert "एक अध्याय और एक स्तर चुनो" in r.text and "डॉट गुणनफल" in r.text and "अभ्यास करो" in r.text
    assert "Pick a chapter" not in r.text
    assert "byhand_lang=hi" in r.headers["set-cookie"]
    r = c.get("/join")  # no ?lang: the cookie keeps Hindi
    assert "कक्षा से जुड़ो" in r.text and "तुम्हारा नाम" in r.text


def test_the_exercise_page_in_bengali(new_client: Any) -> None:
    c = new_client()
    r = c.get("/practice/linear/hard/7?lang=bn")
    assert r.status_code == 200
    assert "রৈখিক স্তর" in r.text  # the title
    assert "বের করো" in r.text and "লুকানো আছে" in r.text  # the task, with the hidden cell named the maths' way
    assert "b[1]" in r.text
    assert "মিলিয়ে দেখো" in r.text and "ইঙ্গিত" in r.text  # Check, Hint
    assert "Fill" not in r.text and "Hint<" not in r.text


def test_the_browser_language_is_the_default_and_the_fonts_are_served(new_client: Any) -> None:
    c = new_client()
    r = c.get("/", headers={"accept-language": "bn-IN,bn;q=0.9,en;q=0.5"})
    assert '<html lang="bn">' in r.text and "byhand_lang" not in r.headers.get("set-cookie", "")
    r = c.get("/?lang=xx")  # an unknown language: ignored, the page is still served
    assert r.status_code == 200
    font = c.get("/fonts/NotoSerifDevanagari-Regular.ttf")
    assert font.status_code == 200 and len(font.content) > 100_000
    assert "/fonts/NotoSerifBengali-Regular.ttf" in c.get("/static/app.css").text


def test_the_page_script_gets_its_words_in_the_language(new_client: Any) -> None:
    import json
    import re

    c = new_client()
    r = c.get("/practice/linear/hard/7?lang=hi")
    words = json.loads(re.search(r'<script type="application/json" id="byhand-words">(.*?)</script>', r.text, re.S).group(1))
    assert words["{correct} of {total} right."] == "{total} में से {correct} सही।"
    r = c.get("/practice/linear/hard/7?lang=en")
    assert '<script type="application/json" id="byhand-words">{}</script>' in r.text


def test_a_hint_in_hindi_names_the_cells_the_maths_way(new_client: Any) -> None:
    c = new_client()
    c.get("/practice/linear/medium/7?lang=hi")
    r = c.api("/api/practice/linear/medium/7/hint", {"badge": 1, "level": 1})
    assert r.status_code == 200, r.text
    text = r.json()["text"]
    assert "के लिए वहाँ देखो जहाँ" in text and "की पंक्ति 1" in text and "look" not in text


def test_a_teachers_pages_in_hindi(new_client: Any) -> None:
    from tests.web.conftest import make_class, make_teacher

    t = make_teacher(new_client())
    cid, _code = make_class(t)
    r = t.get("/teacher?lang=hi")
    assert "मेरी कक्षाएँ" in r.text and "कक्षा बनाएँ" in r.text and "1 विद्यार्थी" not in r.text
    r = t.get(f"/teacher/classes/{cid}")
    assert "नया असाइनमेंट" in r.text and "असाइनमेंट बनाएँ" in r.text and "रैखिक परत" in r.text
    assert '<option value="medium" selected>मध्यम</option>' in r.text  # the form still sends the level's name
