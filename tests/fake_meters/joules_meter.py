"""A fake meter command printing cumulative energy, for tests/test_energy_meters.py.

    python3 joules_meter.py        # prints "energy since boot" and "12.345678 J"

The hardware it plays draws FAKE_METER_IDLE_W watts plus FAKE_METER_K_W watts for each
CPU that the process which ran it (its parent: the runner) keeps busy. The count is exact
at the moment of the read, from clocks rather than samples: idle power times the monotonic
clock plus K_W times the parent's CPU seconds. (Python costs some 16 ms of CPU to start,
which a loaded machine takes from the runner; a count of energy does not mind, a reading
of power would: see the vcgencmd fake.)

FAKE_METER_BREAK=exit makes it fail as a meter that lost its device does (status 3);
``exit-after:N`` works N times and then fails so (the N+1-th read, e.g. the closing read of
a phase), counting its runs in the file FAKE_METER_COUNTER.
"""

import os
import sys
import time


def cpu_seconds(pid):
    """The CPU time of all threads of process `pid` (the clock clock_getcpuclockid gives)."""
    return time.clock_gettime(((~pid) << 3) | 2)


def should_fail(how):
    if how.startswith("exit-after:"):
        counter = os.environ["FAKE_METER_COUNTER"]
        runs = 0
        if os.path.exists(counter):
            with open(counter) as fh:
                runs = int(fh.read() or 0)
        with open(counter, "w") as fh:
            fh.write(str(runs + 1))
        return runs >= int(how.split(":")[1])
    return how == "exit"


def main():
    if should_fail(os.environ.get("FAKE_METER_BREAK", "")):
        print("meter: USB device disconnected", file=sys.stderr)
        sys.exit(3)
    idle_w = float(os.environ.get("FAKE_METER_IDLE_W", "2.0"))
    k_w = float(os.environ.get("FAKE_METER_K_W", "10.0"))
    joules = idle_w * time.monotonic() + k_w * cpu_seconds(os.getppid())
    print(f"energy since boot\n{joules:.6f} J")


if __name__ == "__main__":
    main()
