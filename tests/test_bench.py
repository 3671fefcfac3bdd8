"""The benchmark's own pieces that can be checked without timing anything."""

from bench.bare_app import create_bare_app
from bench.queries import QueryCounter
from mfasite.extensions import db


def test_query_counter_counts_statements_while_active(app):
    with app.app_context():
        counter = QueryCounter(db.engine)
        with counter.counting():
            db.session.execute(db.text("SELECT 1"))
            db.session.execute(db.text("SELECT 2"))
        db.session.execute(db.text("SELECT 3"))

    assert counter.count == 2


def test_bare_page_extends_the_site_base_template_with_a_csrf_token():
    page = create_bare_app().test_client().get("/page").get_data(as_text=True)

    assert 'class="skip-link"' in page
    assert 'name="csrf_token" value="' in page
