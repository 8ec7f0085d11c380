"""The Streamlit app: ask the library, add documents, look after the library.

`app.py` is the entry (`streamlit run ui/app.py`); one module per page (`search_page.py`,
`upload_page.py`, `library_page.py`) and per part (`cards.py`, `uploads.py`, `access.py`,
`source_files.py`, `resources.py`); `screenshots.py` runs the app in Chromium for the browser
test and the docs. No retrieval logic and no file parsing here: everything goes through `index`.
"""
