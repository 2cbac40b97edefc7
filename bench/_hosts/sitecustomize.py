"""Start-up settings for the benchmarks' processes.

Every Python process started with this directory on PYTHONPATH imports it at
start-up. NEWSWATCH_BENCH_HOSTS names a JSON file mapping the synthetic web's
host names (``news000.test`` …) to their loopback addresses (a hosts file);
other names resolve as usual. NEWSWATCH_BENCH_TIME_SCALE is described below.
"""

import json
import os
import socket

_path = os.environ.get("NEWSWATCH_BENCH_HOSTS")
if _path:
    with open(_path) as _f:
        _HOSTS = json.load(_f)
    _getaddrinfo = socket.getaddrinfo

    def _resolve(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        return _getaddrinfo(_HOSTS.get(host, host), *args, **kwargs)

    socket.getaddrinfo = _resolve

# NEWSWATCH_BENCH_TIME_SCALE=k runs the feed scheduler k times faster: its
# bounds (a feed polled at most every 10 minutes, at least once a day, a
# failure backing off 5 minutes to a day) are divided by k. bench/latency.py
# uses it to run the default 15-minute schedule compressed into seconds.
_scale = os.environ.get("NEWSWATCH_BENCH_TIME_SCALE")
if _scale:
    from newswatch import feeds as _feeds

    for _name in ("POLL_MIN", "POLL_MAX", "BACKOFF_BASE", "BACKOFF_MAX", "DEFAULT_ITEM_INTERVAL"):
        setattr(_feeds, _name, getattr(_feeds, _name) / float(_scale))
