"""The Watched page: the questions the team watches, each with the passages that entered its top
ten since it was watched (asked again after every indexing run, index/watch.py)."""
from __future__ import annotations

import streamlit as st

from index import watch
from ui import card_tools, cards, resources
from ui.escaping import escape


def url_filters(filters: dict) -> dict:
    """The Ask page's URL parameters for a watched question's filters, which show their labels."""
    asked = {"doc": filters.get("documents") or [],
             "type": [cards.kind_label(k) for k in filters.get("kinds") or []],
             "lang": [cards.language_name(code) for code in filters.get("languages") or []]}
    names = {label.key: label.name for label in resources.label_set().labels} if filters.get("labels") else {}
    for key in filters.get("labels") or []:
        asked.setdefault(key.split(":", 1)[0], []).append(names.get(key, key.split(":", 1)[-1]))
    return {name: values for name, values in asked.items() if values}


def main() -> None:
    settings = resources.load_settings()
    st.title("Watched questions")
    found = watch.watched(settings.index_dir)
    if not found:
        st.info("No watched question yet. On the Ask page, press “Watch this question” above the results.",
                icon=":material/notifications:")
        return
    st.caption("Each question is asked again after every indexing run; a passage is new when it entered the "
               "question's ten best after the question was watched.")
    for item in found:
        with st.container(border=True, key=f"watched-{item.id}"):
            st.markdown(f"**{escape(item.question)}**")
            st.write(escape(card_tools.new_passages_line(item)) + ".")
            with st.container(horizontal=True):
                st.page_link("search_page.py", label="Ask it now", icon=":material/search:",
                             query_params={"q": item.question, **url_filters(item.filters)})
                st.button("Stop watching", key=f"unwatch-{item.id}", icon=":material/notifications_off:",
                          on_click=watch.unwatch, args=(settings.index_dir, item.id))


if __name__ == "__main__":  # Streamlit runs a page as __main__; importing it draws nothing
    main()
