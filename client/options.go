package client

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"time"
)

// Defaults of Options. Each applies when its field is zero.
const (
	// DefaultAddr is the native protocol's address on a default pykvd.
	DefaultAddr = "127.0.0.1:7380"
	// DefaultDialTimeout bounds connecting, TLS and the protocol handshake.
	DefaultDialTimeout = 5 * time.Second
	// DefaultReadTimeout bounds each wait for the server's bytes. pykv has
	// no blocking commands, so a server that is silent this long is gone.
	DefaultReadTimeout = 3 * time.Second
	// DefaultPoolSizePerCPU times GOMAXPROCS is the default PoolSize, as in
	// go-redis.
	DefaultPoolSizePerCPU = 10
	// DefaultConnMaxIdleTime closes pooled connections idle this long,
	// before a server's idle timeout or a NAT table forgets them.
	DefaultConnMaxIdleTime = 30 * time.Minute
	// DefaultMaxFrame is the largest reply frame accepted: 512 MiB, room
	// for an MGET of several maximum-size (64 MiB) values. Memory follows
	// the bytes that arrive, never the size a frame claims, so a large
	// limit costs nothing until a reply is that large.
	DefaultMaxFrame = 512 << 20
)

// Options configure a Client. The zero value of every field means its
// default; for the timeouts, a negative value means none.
type Options struct {
	// Addr is the server's native protocol address, host:port. Default
	// DefaultAddr.
	Addr string

	// Username and Password are sent with AUTH on every new connection
	// when Password is not empty. pykv knows one user, "default", which is
	// also what an empty Username means.
	Username string
	Password string

	// ClientName, when not empty, names every connection with CLIENT
	// SETNAME, for CLIENT LIST and the server's logs.
	ClientName string

	// DialTimeout bounds connecting, the TLS handshake, the protocol
	// handshake and AUTH of a new connection. Default DefaultDialTimeout;
	// negative: no limit but the context's.
	DialTimeout time.Duration
	// ReadTimeout bounds each wait for bytes from the server (not a whole
	// reply: a large one may take longer as long as bytes keep coming).
	// Default DefaultReadTimeout; negative: no limit but the context's.
	ReadTimeout time.Duration
	// WriteTimeout bounds each wait for the server to accept bytes.
	// Default: the same as ReadTimeout; negative: no limit but the
	// context's.
	WriteTimeout time.Duration

	// PoolSize is the most connections the Client opens at once; a call
	// that finds them all busy waits for one. Default DefaultPoolSizePerCPU
	// per GOMAXPROCS.
	PoolSize int
	// PoolTimeout bounds that wait. Default ReadTimeout + 1s (4s with the
	// defaults); negative: no limit but the context's.
	PoolTimeout time.Duration
	// ConnMaxIdleTime closes a pooled connection that has been idle this
	// long instead of reusing it. Default DefaultConnMaxIdleTime; negative:
	// never.
	ConnMaxIdleTime time.Duration

	// TLSConfig, when not nil, makes every connection speak TLS with it.
	// An empty ServerName is taken from Addr's host.
	TLSConfig *tls.Config

	// MaxFrame is the largest reply frame, in bytes, the client accepts; a
	// larger reply fails with netproto.ErrFrameTooLarge and the connection
	// is discarded. Default DefaultMaxFrame. A reply also carries at most
	// netproto.DefaultMaxArgs array items in all.
	MaxFrame int

	// Dialer, when not nil, opens the connections instead of net.Dialer:
	// for Unix sockets, proxies and tests.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// withDefaults returns o with its defaults applied, or an error for a
// field no default can mend.
func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return o, errors.New("pykv/client: Addr must be host:port: " + err.Error())
	}
	if o.PoolSize < 0 {
		return o, errors.New("pykv/client: PoolSize must not be negative")
	}
	if o.MaxFrame < 0 {
		return o, errors.New("pykv/client: MaxFrame must not be negative")
	}
	if o.Username != "" && o.Password == "" {
		return o, errors.New("pykv/client: Username without a Password")
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = o.ReadTimeout
	}
	if o.PoolSize == 0 {
		o.PoolSize = DefaultPoolSizePerCPU * runtime.GOMAXPROCS(0)
	}
	if o.PoolTimeout == 0 {
		o.PoolTimeout = -1
		if o.ReadTimeout > 0 {
			o.PoolTimeout = o.ReadTimeout + time.Second
		}
	}
	if o.ConnMaxIdleTime == 0 {
		o.ConnMaxIdleTime = DefaultConnMaxIdleTime
	}
	if o.MaxFrame == 0 {
		o.MaxFrame = DefaultMaxFrame
	}
	if o.Dialer == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		o.Dialer = d.DialContext
	}
	return o, nil
}
