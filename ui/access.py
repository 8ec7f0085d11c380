"""Who may change the library: by default whoever runs the app; optionally, whoever knows a password.

The app is meant to run on one person's laptop. A team that shares it on a server can set
PXS_ADMIN_PASSWORD (or `admin_password` in `.streamlit/secrets.toml`): adding, removing and
re-indexing documents then ask for it once per browser session, while searching stays open.
"""
from __future__ import annotations

import hmac
import time

import streamlit as st

import settings as config

UNLOCKED_KEY = "changes_unlocked"
# A wrong password costs a second: enough to make guessing slow, short enough not to annoy.
WRONG_PASSWORD_DELAY_S = 1.0


def admin_password(settings: config.Settings) -> str | None:
    """The password that guards changes, or None when changes are open (the default)."""
    if settings.admin_password:
        return settings.admin_password
    try:
        value = st.secrets.get("admin_password")
    except Exception:  # no secrets file at all: Streamlit raises rather than returning nothing
        return None
    return str(value) if value else None


def password_matches(given: str, expected: str) -> bool:
    # compare_digest takes the same time wherever the strings differ: no timing hints.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def changes_allowed(settings: config.Settings, purpose: str = "add or remove documents") -> bool:
    """True when this session may change the library; otherwise shows the password form."""
    expected = admin_password(settings)
    if expected is None or st.session_state.get(UNLOCKED_KEY):
        return True
    st.info(f"Searching is open to everyone. To {purpose}, enter the team's library password.", icon=":material/lock:")
    with st.form("unlock", clear_on_submit=True):
        given = st.text_input("Library password", type="password")
        submitted = st.form_submit_button("Unlock")
    if submitted:
        if password_matches(given, expected):
            st.session_state[UNLOCKED_KEY] = True
            st.rerun()
        time.sleep(WRONG_PASSWORD_DELAY_S)
        st.error("That password is not right. Ask the colleague who set up the app.")
    return False


def lock_control(settings: config.Settings) -> None:
    """A 'Lock' button in the sidebar for a session that unlocked changes (shared computers)."""
    if admin_password(settings) and st.session_state.get(UNLOCKED_KEY):
        if st.sidebar.button("Lock changes again", icon=":material/lock:"):
            st.session_state[UNLOCKED_KEY] = False
            st.rerun()
