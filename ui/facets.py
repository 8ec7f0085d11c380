"""The metadata facets (country, years, organisation, document type) as widgets bound to the URL,
shared by the Ask and Browse pages; each value's count of documents is said beside the widget.

The URL holds the values' names, never their counts: a shared link must not change meaning when a
document is added.
"""
from __future__ import annotations

import streamlit as st

from index import Filters
from index.metadata import COUNTRIES
from ui.escaping import escape

COUNTRY, YEARS, ORGANISATION, DOCTYPE = "country", "years", "org", "doctype"
KEYS = (COUNTRY, YEARS, ORGANISATION, DOCTYPE)
COUNTS_SHOWN = 6  # values listed with their counts under a widget; the rest are in the list


def country_name(code: str) -> str:
    return COUNTRIES.get(code, code)


def doctype_name(doctype: str) -> str:
    return doctype[:1].upper() + doctype[1:]


def _counts_line(values: list[tuple[str, int]], name=lambda v: v) -> str:
    shown = " · ".join(f"{escape(name(value))} {count}" for value, count in values[:COUNTS_SHOWN])
    more = len(values) - COUNTS_SHOWN
    return shown + (f" · {more} more" if more > 0 else "")


def clear() -> None:
    for key in (COUNTRY, ORGANISATION, DOCTYPE):
        st.session_state[key] = []
    st.session_state.pop(YEARS, None)


def facet_filters(facets: dict[str, list[tuple[str, int]]]) -> Filters:
    """The facet widgets for what the library holds; returns the Filters they ask for (a year
    range that spans every year asks for nothing: documents without a year stay)."""
    countries, years = facets.get("country", []), facets.get("year", [])
    organisations, doctypes = facets.get("organisation", []), facets.get("doctype", [])
    if not (countries or years or organisations or doctypes):
        return Filters()
    chosen_countries = st.multiselect(
        "Country", [value for value, _ in countries], key=COUNTRY, bind="query-params", format_func=country_name,
        placeholder="Any country", help="Found in each document's text, or corrected by a curator",
    )
    if countries:
        st.caption(_counts_line(countries, country_name))
    chosen_years = None
    known_years = sorted(int(value) for value, _ in years if value.isdigit())
    if len(known_years) >= 2:
        first, last = known_years[0], known_years[-1]
        low, high = st.select_slider(
            "Years", list(range(first, last + 1)), value=(first, last), key=YEARS, bind="query-params",
            help="The year of each document: written on it, in its file name or in its properties",
        )
        st.caption(_counts_line(years))
        if (low, high) != (first, last):
            chosen_years = (low, high)
    chosen_organisations = st.multiselect(
        "Organisation", [value for value, _ in organisations], key=ORGANISATION, bind="query-params",
        placeholder="Any organisation",
    )
    if organisations:
        st.caption(_counts_line(organisations))
    chosen_doctypes = st.multiselect(
        "Document type", [value for value, _ in doctypes], key=DOCTYPE, bind="query-params", format_func=doctype_name,
        placeholder="Any type",
    )
    if doctypes:
        st.caption(_counts_line(doctypes, doctype_name))
    return Filters(countries=chosen_countries or None, years=chosen_years, organisations=chosen_organisations or None,
                   doctypes=chosen_doctypes or None)
