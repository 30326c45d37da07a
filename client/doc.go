// Package client is the Go client of pykv, for applications, as go-redis
// is for Redis: it speaks pykv's native binary protocol (see netproto),
// pools connections, pipelines commands, and turns replies into Go values
// and errors. It has no global state; make one Client per server and share
// it between goroutines.
//
//	c, err := client.New(client.Options{Addr: "127.0.0.1:7380", Password: pw})
//	...
//	defer c.Close()
//	if err := c.Set(ctx, "greeting", "hello", client.SetArgs{TTL: time.Minute}).Err(); err != nil { ... }
//	v, err := c.Get(ctx, "greeting").Result()
//	if errors.Is(err, client.ErrNil) { ... the key does not exist ... }
//
// # One method set
//
// Each command is written once, as a method of cmdable (commands.go), a
// function type that takes a built command: go-redis's pattern. Client
// and Pipeline embed a cmdable, so both have every command with the same
// signature, and the Cmdable interface names that method set for code
// that should work on either. A method builds the command's argv and its
// typed *Result, then hands it to the cmdable: the Client's runs it at
// once, so the Result is complete when the method returns; the
// Pipeline's queues it, and Exec completes it. Read a Result with Result
// (value and error), Val or Err. Adding a command is one method on
// cmdable, its decoder in result.go, and its line in Cmdable.
//
// # Errors
//
// Three kinds, told apart with errors.Is and errors.As:
//
//   - ErrNil: a missing value (GET of a missing key; a SET whose NX or XX
//     condition failed). The command ran.
//   - *Error: the server answered with an error reply (Code "ERR",
//     "NOAUTH", "WRONGPASS", "READONLY"...). The command was refused and
//     the connection is still in step, so it goes back to the pool.
//   - anything else: the connection failed (I/O error, a timeout, the
//     context's error, a reply the client could not decode). The command
//     may or may not have run, and the connection is closed, never reused.
//     Commands are not retried, since INCR or SET ... GET run twice is not
//     the same as once.
//
// # Connections
//
// A new connection runs the protocol handshake, then AUTH and CLIENT
// SETNAME when Options ask for them, written together so that they cost
// one round trip. A connection taken from the pool is first checked
// without blocking: one the server closed while it sat idle (a restart,
// its idle timeout) is replaced before any command is written to it.
// Every read and write is bounded by ReadTimeout or WriteTimeout and by
// the context's deadline; cancelling the context interrupts a call that
// is waiting on the network.
//
// # Pipelines
//
// Client.Pipeline queues commands and Exec sends them together, one flush
// and one round trip for all, with a typed Result per command, the same
// Result the Client's method of that command returns. Large
// pipelines are written by one goroutine while another reads the replies,
// so that neither side stalls on full socket buffers.
//
// A pipeline is not a transaction: other clients' commands may run
// between its commands. MSET is atomic on its own.
package client
