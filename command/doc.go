// Package command is pykv's command table: what each command means — its
// arity, its options (SET's NX, XX, EX...), its errors and its reply — is
// written here once, and every front end (the native protocol, RESP for
// redis-cli, go-redis and redis-benchmark, HTTP) calls it. A front end only
// turns bytes into an argv and a Reply back into bytes; this package knows
// nothing of codecs, and must never grow one.
//
// # Use
//
// A daemon makes one Table over its Store (a *storage.DB) and shares it
// between connections. Each connection gets a Session from
// Table.NewSession and calls Table.Exec once per command:
//
//	t := command.New(db, command.Config{Password: pass, Info: serverInfo})
//	s := t.NewSession()
//	r := t.Exec(s, [][]byte{[]byte("SET"), []byte("k"), []byte("v"), []byte("EX"), []byte("10")})
//	// encode r in s.Proto's RESP (or the native format); close when s.Quit.
//
// Exec keeps nothing of argv, so a front end may parse each command into
// reused buffers. The Store, in turn, must not keep the key and value
// slices it is given past the call. A Reply may hold bytes the Store
// returned (a GET's value), and is encoded before the next Exec.
//
// Semantics, replies and error texts are Redis 7's, so that Redis clients
// and tools work unchanged: "ERR wrong number of arguments for 'get'
// command", "ERR syntax error", "NOAUTH Authentication required." and the
// rest are matched by libraries and by people's habits. Integers are parsed
// as strictly as Redis parses them ("+1", " 1" and "01" are not integers).
// With a password configured, only AUTH, HELLO and QUIT run before the
// client authenticates.
//
// GET and SET allocate nothing here beyond what the Store does: the name is
// looked up through an upper-cased stack copy, numbers are parsed from the
// bytes, and the per-command counters are striped by session so that
// cores do not contend for one cache line.
//
// # Adding a command
//
//  1. One entry in package spec's table (command/spec/table.go): name,
//     arity in Redis's convention (negative means at least), flags, key
//     positions, group, a one-line summary and an argument hint.
//  2. The handler, in the file of its group (strings.go, keys.go, conn.go,
//     client.go, server.go, persist.go, shutdown.go, memory.go, monitor.go,
//     info.go, stats.go), with table tests of every reply and error text,
//     and its line in handlers (commands.go); start-up panics if a command
//     has none.
//  3. One test vector per codec (netproto, resp) and one line in
//     docs/protocol.md.
//
// # What differs from Redis
//
// FLUSHALL and FLUSHDB [ASYNC|SYNC] are the same command (there is one
// database) and call the Store's FlushAll (Flusher): the engine logs one
// flush record, not a loop of deletes, so that a crash at any instant
// finds every key or none and followers apply it too, and replies once it
// is durable. ASYNC and SYNC are accepted and mean the same; any other
// argument is Redis's "ERR syntax error". Inside MULTI the flush is part
// of EXEC's one batch (storage.Tx.FlushAll). With a Store that cannot
// flush they reply "ERR FLUSHALL is not supported by this storage engine".
//
// GETDEL works when the Store implements GetDeleter, and otherwise replies
// with an error; BITOP likewise needs a Transactor: it watches its sources,
// reads them, and writes its destination in an Atomic that checks they did
// not change. LCS refuses a table
// larger than the Store's MaxValueSize, where Redis's limit is
// proto-max-bulk-len, and bounds how many large tables exist at once
// (lcs.go). The NX, XX, GT and LT options of EXPIRE and its kin
// compare and replace the expiry in one Store.Update.
//
// MULTI, EXEC, DISCARD, WATCH and UNWATCH are Redis 7.0's (multi.go says
// how they rest on the engine's Atomic and Watch), except that COMPACT,
// REPLICAOF and SLAVEOF cannot be queued: EXEC holds the engine's write
// lock while its commands run, and they need it.
//
// There is one database: SELECT 0 and COPY ... DB 0 succeed and any other
// index is "ERR DB index is out of range". Every value is a string, so
// TYPE answers string or none, and SCAN's TYPE string matches everything
// and any other type nothing. OBJECT ENCODING and REFCOUNT answer by the
// value what Redis answers for a value SET stored; OBJECT IDLETIME counts
// from the key's last use by Redis's rules (Store.Get and Touch use a key,
// Exists, Peek and IdleTime do not), and FREQ is Redis's error under the
// noeviction policy CONFIG GET reports. AUTH knows one user,
// "default". HELLO names the server "pykv" but reports RedisVersion as its
// version, which clients use to choose features; INFO reports both.
//
// CONFIG SET (config.go) changes, through Config.Settings, the daemon's
// settings that change at run time, by Redis 7's names where Redis has the
// same setting (requirepass, maxclients, timeout, loglevel,
// min-replicas-to-write, min-replicas-max-lag) with Redis's errors, and by pykvd's flag names for
// the rest; SetPassword is how the password changes under running
// connections.
//
// A save is a merge (persist.go): SAVE runs one, BGSAVE starts one, and
// LASTSAVE is the time of the last. SHUTDOWN is the daemon's graceful stop
// (Config.Shutdown). CLIENT LIST, INFO and KILL read a registry of the
// connections front ends register (Table.Connect), which each command
// stamps with two atomic stores; MONITOR (monitor.go) costs one atomic
// load while nobody monitors and never waits for a monitor; commandstats
// (stats.go) count every call in counters found by spec ID and time a
// random one call in 16.
package command
