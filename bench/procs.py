"""What the benchmark scripts share: stopping the servers they start."""

import subprocess


def stop(proc: "subprocess.Popen[bytes]", timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if it is still running after ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
