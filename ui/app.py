"""The app's entry: `streamlit run ui/app.py`.

Opens on the library folder (settings.library_dir) with its index (settings.index_dir); builds
the index first when there is none. Then four pages: Ask (the default), Browse, Add documents, Library.
"""
from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run ui/app.py` puts ui/ on sys.path, not the project: the stages are imported from
# the project root, like everywhere else.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui import access, resources  # noqa: E402

def main() -> None:
    # An emoji, not a ":material/…:" icon: Streamlit fetches those favicons from fonts.gstatic.com,
    # a request to Google from every page of an app that is meant to run offline.
    st.set_page_config(page_title="Procurement exchange search", page_icon="🔎", layout="centered")

    settings = resources.load_settings()
    access.guard_uploads(settings)
    if not resources.index_exists(settings) or resources.preparing(settings):
        resources.forget_searcher()
        resources.first_start(settings)  # builds with a progress bar, then reruns into the pages
    resources.tidy_once(settings)

    pages = st.navigation([
        st.Page("search_page.py", title="Ask", icon=":material/search:", default=True),
        st.Page("browse_page.py", title="Browse", icon=":material/account_tree:", url_path="browse"),
        st.Page("upload_page.py", title="Add documents", icon=":material/upload_file:", url_path="add"),
        st.Page("library_page.py", title="Library", icon=":material/library_books:", url_path="library"),
        st.Page("collections_page.py", title="Collections", icon=":material/bookmarks:", url_path="collections"),
        st.Page("watched_page.py", title="Watched", icon=":material/notifications:", url_path="watched"),
        # Reached from a card, Browse or the Library, for one document: not a page of the menu.
        st.Page("document_page.py", title="Document", icon=":material/description:", url_path="document",
                visibility="hidden"),
    ])
    pages.run()

# Streamlit runs this file as __main__. The document readers' worker processes (multiprocessing,
# forkserver) run the main module again as __mp_main__ to prepare: they must not start the app.
if __name__ == "__main__":
    main()
