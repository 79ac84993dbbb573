#!/usr/bin/env python3
"""Groups a perf profile's own-time samples by kind of work (bench/profile-chat).

    bench/perf_categories.py PERF_DATA

Prints a Markdown table: each kind's share of the samples and its three largest symbols. The
kinds are matched in order, first match wins (a symbol of pactum's own code inlined into a CAF
handler counts as pactum's).
"""
import collections
import re
import subprocess
import sys

KINDS = [
    ("kernel: scheduling, context switches, wake-ups",
     lambda dso, k, s: k == "k" and re.search(
         r"sched|switch|futex|wake|spin_unlock|enqueue_task|dequeue_task|update_curr|pick_next|"
         r"hrtimer|nanosleep|tick|idle", s)),
    ("kernel: TCP, sockets, epoll",
     lambda dso, k, s: k == "k" and re.search(
         r"tcp|skb|sock|ip_|__dev|net|loopback|copy_|csum|inet|epoll|ep_|poll", s)),
    ("kernel: other (system call entry, memory, ...)", lambda dso, k, s: k == "k"),
    ("malloc, free, new, delete (and all of jemalloc or tcmalloc)",
     lambda dso, k, s: re.search(r"jemalloc|tcmalloc", dso) or re.search(r"malloc|free\b|cfree|_int_|operator new|operator delete|"
                                 r"consolidate|tcache|arena", s)),
    ("memcmp, memcpy, memmove, strlen",
     lambda dso, k, s: re.search(r"__mem|memcpy|memmove|memset|strlen|__strcmp", s)),
    ("shared_ptr and reference counts",
     lambda dso, k, s: re.search(r"_Sp_counted|shared_ptr|intrusive_ptr|ref_counted", s)),
    ("locks (pthread mutexes, CAF spinlocks)",
     lambda dso, k, s: re.search(r"pthread_mutex|pthread_cond|spinlock|__lll", s)),
    ("libsodium (sealing, XChaCha20-Poly1305)", lambda dso, k, s: "sodium" in dso),
    ("libpqxx, libpq", lambda dso, k, s: re.search(r"pqxx|libpq", dso + s)),
    ("contact guard", lambda dso, k, s: "guard::" in s),
    ("JSON, msgpack, protocol encoding",
     lambda dso, k, s: re.search(r"nlohmann|msgpack|pactum::protocol", s)),
    ("pactum actors (conversation, session, notifications)",
     lambda dso, k, s: re.search(r"pactum::actors|pactum::uuid", s)),
    ("pactum persistence (journal writer)", lambda dso, k, s: "pactum::persistence" in s),
    ("pactum gateway (WebSocket sessions)", lambda dso, k, s: "pactum::gateway" in s),
    ("CAF runtime (scheduler, mailboxes, messages)",
     lambda dso, k, s: "caf" in dso or s.startswith("caf::")),
    ("Beast, Asio", lambda dso, k, s: "boost::" in s),
    ("libc, other", lambda dso, k, s: dso.startswith("libc")),
    ("other", lambda dso, k, s: True),
]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    report = subprocess.run(
        ["perf", "report", "-i", sys.argv[1], "--no-children", "--sort", "dso,sym", "-g", "none",
         "--stdio", "--percent-limit", "0"],
        capture_output=True, text=True, check=True).stdout
    shares = collections.OrderedDict((name, 0.0) for name, _ in KINDS)
    symbols = collections.defaultdict(list)
    for line in report.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$", line)
        if not m:
            continue
        pct, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
        for name, match in KINDS:
            if match(dso, kind, sym):
                shares[name] += pct
                symbols[name].append((pct, sym))
                break
    print("| kind of work | share of pactumd's samples | largest symbols |")
    print("|---|---:|---|")
    for name, share in sorted(shares.items(), key=lambda x: -x[1]):
        if share < 0.05:
            continue
        top = sorted(symbols[name], reverse=True)[:3]
        shown = "; ".join(f"`{re.sub(r'<.*', '<…>', s)[:60]}` {p:.1f}" for p, s in top)
        print(f"| {name} | {share:.1f} % | {shown} |")


if __name__ == "__main__":
    main()
