"""Who may change the library: by default whoever runs the app; optionally, whoever knows a password.

The app is meant to run on one person's laptop. A team that shares it on a server can set
PXS_ADMIN_PASSWORD (or `admin_password` in `.streamlit/secrets.toml`): adding, removing and
re-indexing documents then ask for it once per browser session, while searching stays open.

Guessing is limited where it comes from and as a whole, in this process (every session of the
app): after FREE_FAILURES wrong passwords from one address, or GLOBAL_FREE_FAILURES from all of
them, attempts are refused unchecked for a wait that doubles with each further failure. Each
failure is logged with its time and address, never with what was typed. A session that has not
given the password cannot upload either: Streamlit takes files from any session that asks, so
its upload entry points are guarded (`guard_uploads`).
"""
from __future__ import annotations

import hmac
import logging
import threading
import time
from dataclasses import dataclass

import streamlit as st

import settings as config

UNLOCKED_KEY = "changes_unlocked"
FREE_FAILURES = 5  # from one address: typos, a forgotten capital
GLOBAL_FREE_FAILURES = 20  # from all addresses together: guessing spread over many machines
# The first wait is long enough that guessing in parallel gains nothing, and doubles from there.
FIRST_WAIT_S = 60.0
MAX_WAIT_S = 3600.0

log = logging.getLogger("pxs.ui")


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


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0

    def wait(self, free: int, now: float) -> float:
        """Seconds before the next attempt is checked; the failures are forgotten after MAX_WAIT_S."""
        if now - self.last > MAX_WAIT_S:
            self.count = 0
        if self.count < free:
            return 0.0
        return max(0.0, self.last + min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** (self.count - free)) - now)


class PasswordAttempts:
    """Wrong passwords counted per client address and in all; checking and counting under one
    lock, so parallel sessions cannot slip more attempts past the limit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_address: dict[str, _Failures] = {}
        self._all = _Failures()

    def attempt(self, address: str, given: str, expected: str) -> tuple[bool, float]:
        """(the password is right, seconds to wait before the next attempt is checked)."""
        with self._lock:
            now = time.monotonic()
            mine = self._by_address.setdefault(address, _Failures())
            wait = max(mine.wait(FREE_FAILURES, now), self._all.wait(GLOBAL_FREE_FAILURES, now))
            if wait > 0:
                log.warning("%s library password attempt from %s refused unchecked: %d wrong before it, "
                            "%.0f s to wait", _now(), address, mine.count, wait)
                return False, wait
            if password_matches(given, expected):
                self._by_address.pop(address, None)
                return True, 0.0
            for failures in (mine, self._all):
                failures.count, failures.last = failures.count + 1, now
            log.warning("%s wrong library password from %s (%d from this address, %d in all)",
                        _now(), address, mine.count, self._all.count)
            return False, 0.0


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


ATTEMPTS = PasswordAttempts()
# Sessions that gave the password, by Streamlit session id: the upload guard runs outside any
# script run and cannot read a session's state.
_unlocked_sessions: set[str] = set()


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else None


def _client_address() -> str:
    # Streamlit gives None for this computer (127.0.0.1, ::1). Behind a proxy every client has the
    # proxy's address, and the per-address limit is the global one (README, Security).
    try:
        return st.context.ip_address or "localhost"
    except Exception:  # noqa: BLE001 - no request context (streamlit.testing)
        return "localhost"


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
        right, wait = ATTEMPTS.attempt(_client_address(), given, expected)
        if right:
            st.session_state[UNLOCKED_KEY] = True
            _unlocked_sessions.add(_session_id())
            st.rerun()
        if wait:
            st.error(f"Too many wrong passwords: the next attempt is checked in {max(1, round(wait / 60))} "
                     "minute(s). Ask the colleague who set up the app.")
        else:
            st.error("That password is not right. Ask the colleague who set up the app.")
    return False


def lock_control(settings: config.Settings) -> None:
    """A 'Lock' button in the sidebar for a session that unlocked changes (shared computers)."""
    if admin_password(settings) and st.session_state.get(UNLOCKED_KEY):
        if st.sidebar.button("Lock changes again", icon=":material/lock:"):
            st.session_state[UNLOCKED_KEY] = False
            _unlocked_sessions.discard(_session_id())
            st.rerun()


def _may_upload(session_id: str) -> bool:
    return session_id in _unlocked_sessions or admin_password(config.load()) is None


def guard_uploads(settings: config.Settings) -> None:
    """Refuse uploads from sessions that may not change the library, before they are stored;
    and hold each upload to PXS_UPLOAD_MAX_MB (server.maxUploadSize, read per request).

    Streamlit hands upload URLs to, and stores files from, any session that asks, whatever its
    page shows, and offers no hook to refuse: its file manager's two entry points are wrapped
    once per process. A crafted PUT is still read (at most maxUploadSize) before it is refused.
    """
    from streamlit import config as streamlit_config
    from streamlit.runtime import Runtime

    if streamlit_config.get_option("server.maxUploadSize") != settings.upload_max_mb:
        streamlit_config.set_option("server.maxUploadSize", settings.upload_max_mb)
    if not Runtime.exists():  # streamlit.testing: no server, no uploads over HTTP
        return
    manager = Runtime.instance().uploaded_file_mgr
    if getattr(manager, "pxs_guarded", False):
        return
    add_file, get_upload_urls = manager.add_file, manager.get_upload_urls

    def guarded_add_file(session_id, file, *args, **kwargs):
        if not _may_upload(session_id):
            from starlette.exceptions import HTTPException

            log.warning("%s upload refused: the session has not given the library password", _now())
            raise HTTPException(status_code=403, detail="Uploading needs the library password")
        return add_file(session_id, file, *args, **kwargs)

    def guarded_get_upload_urls(session_id, file_names, *args, **kwargs):
        return get_upload_urls(session_id, file_names, *args, **kwargs) if _may_upload(session_id) else []

    manager.add_file, manager.get_upload_urls = guarded_add_file, guarded_get_upload_urls
    manager.pxs_guarded = True
