package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/internal/testtls"
	"github.com/pykv/pykv/netproto"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	return testtls.WriteSelfSigned(t, dir)
}

// TestTLS configures [tls] in pykv.toml: both listeners speak TLS only,
// to the native codec, go-redis and redis-cli alike.
func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	conf := filepath.Join(dir, "pykv.toml")
	text := "[tls]\ncert_file = " + strconv.Quote(certFile) + "\nkey_file = " + strconv.Quote(keyFile) + "\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--config", conf}})
	tlsConf := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}

	// Native protocol over TLS.
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", d.Addr(), tlsConf)
	if err != nil {
		t.Fatalf("TLS dial of the native port: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioTimeout))
	bw := bufio.NewWriter(c)
	n := &nativeConn{t: t, c: c, bw: bw, w: netproto.NewWriter(bw), r: netproto.NewReader(bufio.NewReader(c), netproto.Limits{})}
	if err := n.w.WriteHandshake(); err != nil {
		t.Fatal(err)
	}
	n.flush()
	if _, err := n.r.ReadHandshakeReply(); err != nil {
		t.Fatalf("native handshake over TLS: %v", err)
	}
	converse(t, n, []step{{[]string{"SET", "k", "over tls"}, "OK"}})

	// RESP over TLS.
	rdb := newRedis(t, d.RESPAddr(), 3, func(o *redis.Options) { o.TLSConfig = tlsConf })
	ctx := testCtx(t)
	v, err := rdb.Get(ctx, "k").Result()
	check(t, "GET over TLS", v, err, "over tls")

	// A plaintext client gets nowhere.
	plain := newRedis(t, d.RESPAddr(), 2, nil)
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Errorf("a plaintext PING on the TLS port succeeded")
	}

	t.Run("redis-cli", func(t *testing.T) {
		cli := needTool(t, "redis-cli")
		out := runTool(t, cli, "", "--tls", "--cacert", certFile, "-h", "127.0.0.1",
			"-p", strconv.Itoa(d.RESPPort()), "GET", "k")
		if out != "over tls\n" {
			t.Errorf("redis-cli --tls GET k = %q", out)
		}
	})
}

// TestSIGHUPReloadsCertificate: a renewed certificate written over the
// same files is served after SIGHUP: a client trusting only the old one
// is refused, one trusting the new one gets through, and a connection made
// before goes on; the log names the certificate loaded.
func TestSIGHUPReloadsCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, oldPool := selfSigned(t, dir)
	conf := filepath.Join(dir, "pykv.toml")
	text := "[tls]\ncert_file = " + strconv.Quote(certFile) + "\nkey_file = " + strconv.Quote(keyFile) + "\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	d := testdaemon.Start(t, testdaemon.Options{Args: []string{"--config", conf}})
	dial := func(pool *x509.CertPool) (*tls.Conn, error) {
		return tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", d.RESPAddr(),
			&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	}
	before, err := dial(oldPool)
	if err != nil {
		t.Fatalf("TLS dial with the first certificate: %v", err)
	}
	defer before.Close()
	_, _, newPool := selfSigned(t, dir) // writes over the same two files
	if err := syscall.Kill(d.PID(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	log := d.WaitLog(`msg="configuration reloaded"`)
	if want := `msg="TLS certificate loaded" source="SIGHUP ` + conf + `" cert_file=` + certFile; !strings.Contains(log, want) {
		t.Errorf("log lacks %q", want)
	}
	if c, err := dial(oldPool); err == nil {
		c.Close()
		t.Error("a client trusting only the old certificate got through after the reload")
	}
	after, err := dial(newPool)
	if err != nil {
		t.Fatalf("TLS dial with the renewed certificate: %v", err)
	}
	defer after.Close()
	for name, c := range map[string]*tls.Conn{"before": before, "after": after} {
		c.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		buf := make([]byte, 7)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "+PONG\r\n" {
			t.Errorf("PING on the connection made %s the reload: %q, %v", name, buf, err)
		}
	}
}
