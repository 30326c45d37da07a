#!/usr/bin/env python3
"""Drives pykvd with redis-py (Debian's python3-redis), as an application
would: the default transactional pipeline (MULTI/EXEC), the WATCH/MULTI/EXEC
optimistic-locking loop under contention, and scan_iter. Run by
TestPythonRedisClient (cmd/pykvd/tx_client_test.go) with the RESP port as
its argument; it prints one line per check and exits non-zero on the first
failure."""

import sys
import threading

import redis


def check(what, got, want):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")
    print(f"ok {what}")


def pipeline_is_a_transaction(r):
    # pipeline() is transactional by default: MULTI ... EXEC.
    with r.pipeline() as pipe:
        pipe.set("py:tx:a", "1").incr("py:tx:a").get("py:tx:a").mset({"py:tx:b": "x", "py:tx:c": "y"})
        pipe.mget("py:tx:a", "py:tx:b", "py:tx:c", "py:tx:none")
        check("pipeline results", pipe.execute(), [True, 2, b"2", True, [b"2", b"x", b"y", None]])
    # A run-time error inside EXEC is raised by execute() (raise_on_error);
    # the other commands took effect.
    with r.pipeline() as pipe:
        pipe.set("py:tx:s", "text").incr("py:tx:s").set("py:tx:after", "1")
        try:
            pipe.execute()
            raise AssertionError("INCR of a word inside EXEC did not raise")
        except redis.ResponseError as e:
            check("run-time error text", "value is not an integer" in str(e), True)
    check("writes around the failed command", r.mget("py:tx:s", "py:tx:after"), [b"text", b"1"])
    # Without raising, the error is in its place among the results.
    with r.pipeline() as pipe:
        pipe.incr("py:tx:s").get("py:tx:s")
        res = pipe.execute(raise_on_error=False)
        check("error in place", (isinstance(res[0], redis.ResponseError), res[1]), (True, b"text"))
    # A command refused while queuing aborts the whole transaction.
    with r.pipeline() as pipe:
        pipe.set("py:tx:never", "1").execute_command("GET")
        try:
            pipe.execute()
            raise AssertionError("a refused command did not abort the transaction")
        except redis.ResponseError as e:
            check("EXECABORT", "wrong number of arguments" in str(e) or "EXECABORT" in str(e), True)
    check("nothing of an aborted transaction", r.exists("py:tx:never"), 0)


def optimistic_counter(r, workers=4, rounds=40):
    # The WATCH/MULTI/EXEC loop of redis-py's documentation: read, compute,
    # write only if nobody changed the key meanwhile, else retry.
    key = "py:tx:counter"
    r.delete(key)
    retries = [0]
    lock = threading.Lock()
    errors = []

    def worker():
        try:
            client = redis.Redis(host=r.connection_pool.connection_kwargs["host"],
                                 port=r.connection_pool.connection_kwargs["port"], socket_timeout=10)
            for _ in range(rounds):
                with client.pipeline() as pipe:
                    while True:
                        try:
                            pipe.watch(key)
                            current = int(pipe.get(key) or 0)
                            pipe.multi()
                            pipe.set(key, current + 1)
                            pipe.execute()
                            break
                        except redis.WatchError:
                            with lock:
                                retries[0] += 1
            client.close()
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    check("optimistic counter", int(r.get(key)), workers * rounds)
    print(f"   ({retries[0]} WatchError retries)")

    # transaction(): the same loop, as redis-py packages it.
    def double(pipe):
        value = int(pipe.get(key))
        pipe.multi()
        pipe.set(key, value * 2)
    r.transaction(double, key)
    check("transaction() helper", int(r.get(key)), 2 * workers * rounds)

    # A write from another connection between WATCH and EXEC: WatchError.
    other = redis.Redis(host=r.connection_pool.connection_kwargs["host"],
                        port=r.connection_pool.connection_kwargs["port"])
    with r.pipeline() as pipe:
        pipe.watch(key)
        other.set(key, "0")
        pipe.multi()
        pipe.set(key, "from the loser")
        try:
            pipe.execute()
            raise AssertionError("EXEC after a watched key changed did not raise WatchError")
        except redis.WatchError:
            print("ok WatchError after another client's write")
    check("the loser wrote nothing", r.get(key), b"0")
    other.close()


def scan_iter(r):
    want = {f"py:scan:{i}".encode() for i in range(150)}
    r.mset({k: "v" for k in want})
    r.set("py:other", "v")
    got = set(r.scan_iter(match="py:scan:*", count=7))
    check("scan_iter keys", got, want)


def main():
    port = int(sys.argv[1])
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
    check("ping", r.ping(), True)
    pipeline_is_a_transaction(r)
    optimistic_counter(r)
    scan_iter(r)
    r.close()
    print("all ok")


if __name__ == "__main__":
    main()
