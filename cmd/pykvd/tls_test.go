package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pykv/pykv/internal/testdaemon"
	"github.com/pykv/pykv/netproto"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pykvd test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certFile, keyFile, pool
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
