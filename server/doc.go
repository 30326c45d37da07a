// Package server serves the command table over TCP: one goroutine per
// connection with buffered I/O, replies flushed when the input runs dry (so
// a pipeline's replies come back in request order with few syscalls), and
// the limits every listener enforces (max clients, AUTH and request
// deadlines, idle and write timeouts, graceful shutdown). A Protocol says
// how a connection's bytes become commands and replies: Native (the
// native wire format of package netproto) and RESP (package
// netproto/resp). Before a connection's replies leave, the server waits
// until every write they made or saw is durable (DeferredStore).
//
// With Config.EventLoop, a RESP listener on Linux without TLS is served
// instead by a few epoll event loops (eventloop_linux.go), as Redis's ae
// serves it: the same parser, limits and shutdown, one read and one write
// per connection and turn, and the connections whose commands block
// handed to the goroutine server.
//
// The wire codecs know nothing of this package or of the engine; the
// daemon (internal/daemon) wires a Server per listener.
package server
