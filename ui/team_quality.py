"""The Library page's line on the team's own questions: how often the current index puts a page
the team judged to answer a question first, and among the first five (index/feedback.py)."""
from __future__ import annotations

import streamlit as st

from index import feedback


@st.cache_data(max_entries=8, show_spinner="Re-asking the questions your team judged…")
def _scores(index_dir: str, generation: int, verdicts: int, _searcher) -> feedback.TeamScores:
    # Re-run once per index generation and set of verdicts, not on every visit of the page.
    return feedback.team_scores(_searcher, index_dir)


def show(searcher, settings) -> None:
    verdicts = feedback.count(settings.index_dir)
    if not verdicts:
        st.caption("Your team has not judged any result yet: “Answers my question” under a result on the Ask "
                   "page builds a test set of your own questions.")
        return
    scores = _scores(str(settings.index_dir), searcher.generation, verdicts, searcher)
    if not scores.questions:
        st.caption("Your team has judged results, but none yet as answering its question.")
        return
    st.caption(
        f"Your team has judged {scores.questions} question{'s' if scores.questions != 1 else ''}: the right page "
        f"first for {round(100 * scores.first)} %, in the top five for {round(100 * scores.top_five)} % "
        "(asked again on the library as it is now; `python -m index feedback --json` exports them)."
    )
