"""Many colleagues at once: the real app answering N sessions, with and without an upload running.

    python bench/load.py                          # 1, 10, 30 sessions x without / with an upload, 120 s each
    python bench/load.py --sessions 10 --upload yes --seconds 60 --json

For each row: a fresh copy of the sample library (corpus/) and of its index, built once, in a
temporary folder (corpus/ and .index/ are never touched); `streamlit run ui/app.py` started on
them (ui/screenshots.app_server); one warm-up question (the model loads); then N sessions, each
asking a question from bench/gold.jsonl (seeded, random), waiting for the answer, then 1-3 s
(uniform, seeded) before the next, for `--seconds`. With an upload, one more session opens the
Add documents page 10 s in and adds a 100-page PDF through the upload widget, as a browser does
(file URL request, HTTP PUT of the file, the form submitted), and waits for its outcome; the
others go on asking until that outcome is shown, should it take longer than `--seconds`. Another
session asks, from the upload's start, a word that only page 50 of the upload holds, again and
again, until a card shows the upload at page 50: "upload's page 50 found after" (`--sessions 0
--upload yes` measures that alone).

The sessions speak Streamlit's own websocket protocol (`/_stcore/stream`, the BackMsg and
ForwardMsg protobufs that streamlit ships), as the browser's JavaScript does, not through 30
Chromium tabs: on two cores the browsers would take the CPU the app needs and measure
themselves. What a browser adds (drawing the cards) happens on the colleague's own computer.

An answer's time runs from sending the question (a rerun with the question box's new value) to
the run's `script_finished`; it counts as answered when the run finished and drew result cards,
and as an error otherwise (an error or exception element, no cards, a websocket closed, no
answer within 60 s). Peak memory: the resident size of the streamlit process, and of it with its
children (the indexing run's process), sampled every 0.25 s. The load average and this
client's own CPU time are printed with each row: other work on the machine shows in the times.
"""
from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402

GOLD = ROOT / "bench" / "gold.jsonl"
# The upload: the first 100 pages of a real 237-page procurement handbook (German), or, where
# ../shared is absent, 100 pages of the gold questions' evidence made with reportlab.
HANDBOOK = ROOT.parent / "shared" / "realdocs" / "procurement" / "de_vergabehandbuch" / "Vergabebuch_2025_FINALE_AUSGABE.pdf"
UPLOAD_PAGES = 100
UPLOAD_AT_S = 10.0
# "Time until a word of the upload is found": a word only this page of the upload holds, asked
# from a session of its own from the upload's start until a card shows the upload at this page.
FOUND_PAGE = 50
ANSWER_TIMEOUT_S = 60.0
UPLOAD_TIMEOUT_S = 600.0
QUESTION_LABEL = "Your question"


# -- the library, the index and the upload ---------------------------------------------------------
def prepare(work: Path, app: Path = ROOT) -> tuple[Path, Path]:
    """The sample library copied into `work` and indexed once (by the checkout `app`); returns
    (library, pristine index)."""
    library, index = work / "library", work / "index.pristine"
    shutil.copytree(ROOT / "corpus", library, ignore=shutil.ignore_patterns("_*", ".*"))
    subprocess.run([sys.executable, "-m", "ingest", str(library), "--index", str(index), "--quiet"],
                   cwd=app, check=True, stdout=subprocess.DEVNULL)
    return library, index


def reset(library: Path, pristine: Path, index: Path) -> None:
    """The library and index as prepared: no upload of an earlier row left behind."""
    shutil.rmtree(library / "uploads", ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    shutil.copytree(pristine, index)


def word_of_page(pdf: Path, page: int = FOUND_PAGE) -> str:
    """A word of `page` (1-based) that no other page of the PDF holds: the longest such word,
    what a colleague who read that page might search for."""
    from pypdf import PdfReader

    texts = [(p.extract_text() or "") for p in PdfReader(pdf).pages]
    words = [set(re.findall(r"[^\W\d_]{6,}", text.lower())) for text in texts]
    elsewhere = set().union(*(w for n, w in enumerate(words) if n != page - 1))
    return max(sorted(words[page - 1] - elsewhere), key=len)


def upload_pdf(work: Path) -> Path:
    target = work / "handbook-100-pages.pdf"
    if HANDBOOK.exists():
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter()
        for page in PdfReader(HANDBOOK).pages[:UPLOAD_PAGES]:
            writer.add_page(page)
        with open(target, "wb") as out:
            writer.write(out)
        return target
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    evidence = [json.loads(line)["evidence"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    pdf = canvas.Canvas(str(target), pagesize=A4)
    for number in range(UPLOAD_PAGES):
        y = 800
        for line in evidence[number % len(evidence):][:40]:
            pdf.drawString(50, y, line[:95])
            y -= 18
        pdf.showPage()
    pdf.save()
    return target


# -- one session of the app, spoken to as the browser does ----------------------------------------
@dataclass
class Run:
    """What one script run drew: its elements, and how it ended."""

    seconds: float
    elements: list = field(default_factory=list)
    finished: int | None = None  # ForwardMsg.ScriptFinishedStatus, None when it never finished
    problem: str = ""

    def markdown(self) -> list[str]:
        return [e.markdown.body for e in self.elements if e.WhichOneof("type") == "markdown"]

    def cards(self) -> int:
        return sum('class="pxs-card"' in body for body in self.markdown())

    def alerts(self, kind: int) -> list[str]:
        return [e.alert.body for e in self.elements if e.WhichOneof("type") == "alert" and e.alert.format == kind]

    def errors(self) -> list[str]:
        from streamlit.proto.Alert_pb2 import Alert

        found = [f"exception: {e.exception.message[:200]}" for e in self.elements if e.WhichOneof("type") == "exception"]
        return found + [f"error: {body[:200]}" for body in self.alerts(Alert.ERROR)]


class Session:
    """One browser tab's conversation with the app over /_stcore/stream."""

    def __init__(self, url: str):
        self.url = url
        self.ws = None
        self.session_id = ""
        self.xsrf = ""
        self.pages: dict[str, str] = {}  # url path ("" for the default page) -> page script hash
        self.widgets: dict[str, str] = {}  # label -> widget id, as last drawn
        self.forms: dict[str, str] = {}  # submit button label -> widget id
        self._incoming: asyncio.Queue = asyncio.Queue()
        self._reader: asyncio.Task | None = None

    async def open(self) -> None:
        import websockets

        # The health check sets the XSRF cookie the browser would get with the page.
        with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=ANSWER_TIMEOUT_S) as answer:
            for header in answer.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                if name.strip() == "_streamlit_xsrf":
                    self.xsrf = rest.split(";")[0]
        stream = self.url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = await websockets.connect(
            stream, subprotocols=["streamlit", self.xsrf] if self.xsrf else ["streamlit"], max_size=None,
            additional_headers={"Cookie": f"_streamlit_xsrf={self.xsrf}"} if self.xsrf else None,
            open_timeout=60, ping_timeout=None,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            async for data in self.ws:
                message = ForwardMsg()
                message.ParseFromString(data)
                await self._incoming.put(message)
        except Exception as exc:  # noqa: BLE001 - a closed socket is an outcome, reported by the next run
            await self._incoming.put(exc)
        await self._incoming.put(ConnectionError("the app closed the websocket"))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()

    async def _send(self, back) -> None:
        await self.ws.send(back.SerializeToString())

    async def rerun(self, page: str = "", query: dict | None = None, states: list | None = None,
                    timeout: float = ANSWER_TIMEOUT_S, watch=None) -> Run:
        """One script run, as a browser asks for it; returns what it drew once it finished."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        back = BackMsg()
        client = back.rerun_script
        client.query_string = urllib.parse.urlencode(query or {}, doseq=True)
        client.page_script_hash = self.pages.get(page, "")
        client.page_name = page
        for state in states or []:
            client.widget_states.widgets.append(state)
        started = time.perf_counter()
        await self._send(back)
        run = Run(0.0)
        deadline = started + timeout
        while True:
            try:
                message = await asyncio.wait_for(self._incoming.get(), max(0.01, deadline - time.perf_counter()))
            except asyncio.TimeoutError:
                run.problem = f"no answer within {timeout:.0f} s"
                break
            if isinstance(message, Exception):
                run.problem = f"{type(message).__name__}: {message}"
                await self._incoming.put(message)  # the socket stays closed for later runs too
                break
            kind = message.WhichOneof("type")
            if kind == "new_session":
                self.session_id = message.new_session.initialize.session_id or self.session_id
            elif kind == "navigation":
                for app_page in message.navigation.app_pages:
                    self.pages[app_page.url_pathname] = app_page.page_script_hash
                    if app_page.is_default:
                        self.pages[""] = app_page.page_script_hash
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                run.elements.append(element)
                self._learn(element)
                if watch:
                    watch(element)
            elif kind == "script_finished":
                if message.script_finished == ForwardMsgStatus.FINISHED_EARLY_FOR_RERUN:
                    continue  # interrupted by our own next request: its run follows
                run.finished = message.script_finished
                break
        run.seconds = time.perf_counter() - started
        return run

    def _learn(self, element) -> None:
        kind = element.WhichOneof("type")
        if kind in ("text_input", "file_uploader"):
            widget = getattr(element, kind)
            self.widgets[widget.label] = widget.id
        elif kind == "button" and element.button.is_form_submitter:
            self.forms[element.button.label] = element.button.id

    async def ask(self, question: str) -> Run:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        state = WidgetState(id=self.widgets[QUESTION_LABEL], string_value=question)
        return await self.rerun(query={"q": question}, states=[state])

    async def upload(self, path: Path, watch=None) -> Run:
        """Open Add documents, put the file through the upload widget, submit the form."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.Common_pb2 import UploadedFileInfo
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        page = await self.rerun(page="add")
        if page.finished is None or "Documents" not in self.widgets:
            return page
        back = BackMsg()
        back.file_urls_request.request_id = uuid.uuid4().hex
        back.file_urls_request.file_names.append(path.name)
        back.file_urls_request.session_id = self.session_id
        await self._send(back)
        while True:
            message = await asyncio.wait_for(self._incoming.get(), 60)
            if not isinstance(message, Exception) and message.WhichOneof("type") == "file_urls_response":
                urls = message.file_urls_response.file_urls[0]
                break
        await asyncio.to_thread(self._put, urls.upload_url, path)
        info = UploadedFileInfo(name=path.name, size=path.stat().st_size, file_id=urls.file_id)
        info.file_urls.CopyFrom(urls)
        uploader = WidgetState(id=self.widgets["Documents"])
        uploader.file_uploader_state_value.uploaded_file_info.append(info)
        submit = WidgetState(id=self.forms["Add to the library"], trigger_value=True)
        return await self.rerun(page="add", states=[uploader, submit], timeout=UPLOAD_TIMEOUT_S, watch=watch)

    def _put(self, upload_url: str, path: Path) -> None:
        boundary = uuid.uuid4().hex
        body = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
            "Content-Type: application/pdf\r\n\r\n"
        ).encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        target = upload_url if upload_url.startswith("http") else self.url + "/" + upload_url.lstrip("/")
        request = urllib.request.Request(target, data=body, method="PUT", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Xsrftoken": self.xsrf, "Cookie": f"_streamlit_xsrf={self.xsrf}",
        })
        with urllib.request.urlopen(request, timeout=120) as answer:
            if answer.status not in (200, 204):
                raise RuntimeError(f"upload answered {answer.status}")


class ForwardMsgStatus:
    FINISHED_SUCCESSFULLY = 0
    FINISHED_EARLY_FOR_RERUN = 2


# -- one row of the table ------------------------------------------------------------------------------
@dataclass
class Answer:
    sent: float  # seconds since the row's start
    seconds: float
    ok: bool
    problem: str = ""


@dataclass
class Row:
    sessions: int
    upload: bool
    seconds: float
    answers: list[Answer] = field(default_factory=list)
    upload_window: tuple[float, float] | None = None  # (submitted, outcome) in row seconds
    upload_outcome: str = ""
    upload_found_s: float | None = None  # from the upload's start to a card of its page FOUND_PAGE
    upload_word: str = ""
    peak_app_mb: float = 0.0
    peak_total_mb: float = 0.0
    load_before: tuple = ()
    load_after: tuple = ()
    client_cpu_s: float = 0.0
    app_cpu_s: float = 0.0
    app_exit: int | None = None  # the app's exit code, had it died during the row

    @property
    def errors(self) -> int:
        return sum(not a.ok for a in self.answers)

    def summary(self) -> dict:
        def spread(answers):
            times = sorted(a.seconds for a in answers if a.ok)
            if not times:
                return {"answered": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            return {"answered": len(times), "p50_ms": round(statistics.median(times) * 1000),
                    "p95_ms": round(p95 * 1000), "max_ms": round(times[-1] * 1000)}

        out = {"sessions": self.sessions, "upload": self.upload, **spread(self.answers),
               "errors": self.errors, "app_exit": self.app_exit,
               "peak_app_mb": round(self.peak_app_mb), "peak_total_mb": round(self.peak_total_mb),
               "load_before": self.load_before, "load_after": self.load_after,
               "client_cpu_s": round(self.client_cpu_s, 1), "app_cpu_s": round(self.app_cpu_s, 1),
               "app_cpu_ms_per_answer": round(1000 * self.app_cpu_s / max(1, len(self.answers)))}
        if self.upload_window:
            begin, end = self.upload_window
            during = [a for a in self.answers if begin <= a.sent <= end]
            out["upload_seconds"] = round(end - begin, 1)
            out["upload_outcome"] = self.upload_outcome
            out["during_upload"] = spread(during) | {"errors": sum(not a.ok for a in during)}
            out["upload_found_seconds"] = None if self.upload_found_s is None else round(self.upload_found_s, 1)
            out["upload_word"] = self.upload_word
        problems = sorted({a.problem for a in self.answers if not a.ok})
        if problems:
            out["problems"] = problems[:5]
        return out


class MemoryWatch:
    """Peak resident memory of a process and of it with its children, sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.25):
        import psutil

        self.process, self.every = psutil.Process(pid), every
        self.peak_app = self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                app = self.process.memory_info().rss
                total = app
                for child in self.process.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak_app, self.peak_total = max(self.peak_app, app), max(self.peak_total, total)
            except psutil.Error:
                return
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()


async def drive(url: str, sessions: int, seconds: float, questions: list[str], upload: Path | None, seed: int,
                row: Row, warmed=None) -> None:
    warm = Session(url)
    await warm.open()
    await warm.rerun()
    await warm.ask(questions[0])  # the model loads, the pages compile: not part of any figure
    await warm.close()
    if warmed:
        warmed()
    started = time.perf_counter()
    deadline = started + seconds
    uploaded = asyncio.Event()  # with an upload, colleagues ask until its outcome is shown too
    if upload is None:
        uploaded.set()

    async def colleague(number: int) -> None:
        chance = random.Random(seed * 1000 + number)
        session = Session(url)
        try:
            await session.open()
        except Exception as exc:  # noqa: BLE001 - a colleague who cannot even connect is an error
            row.answers.append(Answer(0.0, 0.0, False, f"could not connect: {type(exc).__name__}: {exc}"))
            return
        first = await session.rerun()
        if QUESTION_LABEL not in session.widgets:
            row.answers.append(Answer(0.0, first.seconds, False, first.problem or "no question box"))
            return
        await asyncio.sleep(chance.uniform(0, 3))  # colleagues do not all start on the same second
        while time.perf_counter() < deadline or not uploaded.is_set():
            question = chance.choice(questions)
            sent = time.perf_counter() - started
            run = await session.ask(question)
            problems = run.errors() or ([run.problem] if run.problem else [])
            if not problems and run.finished != ForwardMsgStatus.FINISHED_SUCCESSFULLY:
                problems = [f"script finished with status {run.finished}"]
            if not problems and not run.cards():
                problems = [f"no result cards for {question!r}"]
            row.answers.append(Answer(sent, run.seconds, not problems, "; ".join(problems)))
            if run.problem.startswith(("ConnectionError", "ConnectionClosed")):
                break
            await asyncio.sleep(chance.uniform(1.0, 3.0))
        await session.close()

    async def uploader() -> None:
        from streamlit.proto.Alert_pb2 import Alert

        await asyncio.sleep(UPLOAD_AT_S)
        session = Session(url)
        submitted = time.perf_counter() - started
        try:
            await session.open()
            await session.rerun()
            run = await session.upload(upload)
        except Exception as exc:  # noqa: BLE001 - reported as the upload's outcome
            row.upload_window = (submitted, time.perf_counter() - started)
            row.upload_outcome = f"failed: {type(exc).__name__}: {exc}"
            uploaded.set()
            return
        row.upload_window = (submitted, time.perf_counter() - started)
        outcome = run.alerts(Alert.SUCCESS) + run.alerts(Alert.ERROR) + run.alerts(Alert.WARNING) + run.alerts(Alert.INFO)
        row.upload_outcome = (outcome[0] if outcome else run.problem or "no outcome shown")[:160]
        uploaded.set()
        await session.close()

    async def finder() -> None:
        """From the upload's start, ask a word of its page FOUND_PAGE until a card shows that page."""
        await asyncio.sleep(UPLOAD_AT_S)
        begun = time.perf_counter()
        session = Session(url)
        await session.open()
        await session.rerun()
        wanted = f'data-document="uploads/{upload.name}" '
        while not uploaded.is_set() or row.upload_found_s is None:
            run = await session.ask(row.upload_word)
            cards = [html.unescape(body) for body in run.markdown()]  # the app escapes names (ui/escaping.py)
            if any(wanted in card and f'data-page="{FOUND_PAGE}"' in card for card in cards):
                row.upload_found_s = time.perf_counter() - begun
                break
            if uploaded.is_set():  # the upload ended and its page was still not found
                break
            # A colleague's pace, not a busy loop: back-to-back questions took a core from the
            # app, whose indexing child (nice 10, its session) then read the upload for minutes.
            await asyncio.sleep(1.0)
        await session.close()

    tasks = [colleague(number) for number in range(sessions)]
    if upload is not None:
        row.upload_word = word_of_page(upload)
        tasks += [uploader(), finder()]
    await asyncio.gather(*tasks)


def measure(library: Path, index: Path, work: Path, sessions: int, with_upload: bool, seconds: float,
            questions: list[str], upload: Path, seed: int, app: Path = ROOT) -> Row:
    from ui.screenshots import app_server

    row = Row(sessions, with_upload, seconds)
    log = work / f"streamlit-{sessions}-{'upload' if with_upload else 'plain'}.log"
    with app_server(library, index, log, cwd=app, env={"PXS_ADMIN_PASSWORD": ""}, app=app) as (url, server):
        import psutil

        print(f"  app on {url}, pid {server.pid}", file=sys.stderr, flush=True)
        app = psutil.Process(server.pid)
        row.load_before = tuple(round(x, 2) for x in os.getloadavg())
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        app_before = []  # the app's CPU once warm: loading the model is no colleague's question
        with MemoryWatch(server.pid) as memory:
            asyncio.run(drive(url.replace("localhost", "127.0.0.1"), sessions, seconds, questions,
                              upload if with_upload else None, seed, row,
                              warmed=lambda: app_before.append(sum(app.cpu_times()[:2]))))
        row.app_cpu_s = sum(app.cpu_times()[:2]) - app_before[0]  # its own threads, not the indexing child
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        row.client_cpu_s = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
        row.load_after = tuple(round(x, 2) for x in os.getloadavg())
        row.peak_app_mb, row.peak_total_mb = memory.peak_app / 2**20, memory.peak_total / 2**20
        row.app_exit = server.poll()  # None: still serving; a number: the app died under the load
    if row.errors:  # what the app said is the first clue to why sessions failed
        print(f"  {row.errors} errors; the app's last lines ({log}):", file=sys.stderr)
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]:
            print(f"    {line}", file=sys.stderr)
    return row


def table(rows: list[dict]) -> str:
    lines = [
        "| sessions | upload running | answered | p50 | p95 | max | errors | p95 while indexing | upload's page 50 found after | app peak RSS (with indexing child) | load average before / after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        during = r.get("during_upload")
        while_indexing = (f"{during['p95_ms']} ms ({during['answered']} answers, {r['upload_seconds']} s)"
                          if during and during["answered"] else "–")
        lines.append(
            f"| {r['sessions']} | {'yes' if r['upload'] else 'no'} | {r['answered']} | {r['p50_ms']} ms | {r['p95_ms']} ms "
            f"| {r['max_ms']} ms | {r['errors']} | {while_indexing} "
            f"| {'–' if r.get('upload_found_seconds') is None else str(r['upload_found_seconds']) + ' s'} "
            f"| {r['peak_app_mb']} MB ({r['peak_total_mb']} MB) "
            f"| {r['load_before'][0]} / {r['load_after'][0]} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", default="1,10,30", help="comma-separated session counts")
    parser.add_argument("--upload", choices=("both", "yes", "no"), default="both")
    parser.add_argument("--seconds", type=float, default=120.0, help="how long the sessions ask, per row")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON lines too")
    parser.add_argument("--app", type=Path, default=ROOT,
                        help="the checkout whose app is started and measured (default: this one), e.g. another version's worktree")
    args = parser.parse_args(argv)
    questions = [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    uploads = {"both": (False, True), "yes": (True,), "no": (False,)}[args.upload]
    print(f"app of {args.app}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; {len(questions)} questions; "
          f"{args.seconds:.0f} s per row", flush=True)
    work = Path(tempfile.mkdtemp(prefix="pxs-load-"))
    rows = []
    try:
        library, pristine = prepare(work, args.app)
        upload = upload_pdf(work)
        index = work / "index"
        for sessions in (int(n) for n in args.sessions.split(",")):
            for with_upload in uploads:
                reset(library, pristine, index)
                row = measure(library, index, work, sessions, with_upload, args.seconds, questions, upload, args.seed,
                              args.app)
                rows.append(row.summary())
                print(json.dumps(rows[-1], ensure_ascii=False) if args.json else
                      f"{sessions} sessions, upload {'yes' if with_upload else 'no'}: {rows[-1]}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(rows))
    return 0 if all(r["errors"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
