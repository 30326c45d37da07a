// Command monread is a MONITOR client that only reads: it sends MONITOR
// over RESP, then reads the stream into a buffer and discards it, counting
// lines, until it is killed (SIGINT or SIGTERM) or the server closes the
// connection, and prints how many lines and bytes it read on stderr.
// bench/monitor.sh uses it to tell what a monitor costs the server from
// what redis-cli MONITOR costs the machine by printing the stream.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "the server's RESP address")
	flag.Parse()
	c, err := net.Dial("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "monread:", err)
		os.Exit(1)
	}
	if _, err := c.Write([]byte("*1\r\n$7\r\nMONITOR\r\n")); err != nil {
		fmt.Fprintln(os.Stderr, "monread:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; c.Close() }()
	var lines, total int64
	buf := make([]byte, 256<<10)
	for {
		n, err := c.Read(buf)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		total += int64(n)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				fmt.Fprintln(os.Stderr, "monread:", err)
			}
			break
		}
	}
	fmt.Fprintf(os.Stderr, "monread: %d lines, %d bytes\n", lines, total)
}
