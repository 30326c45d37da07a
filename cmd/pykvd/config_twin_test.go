package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pykv/pykv/internal/testdaemon"
)

// TestConfigSetLikeRedis (twin): CONFIG SET of the parameters pykvd and
// redis-server share (requirepass, maxclients, timeout, loglevel,
// min-replicas-to-write and min-replicas-max-lag, the latter refusing
// writes at once without followers), its errors
// (unknown parameter, odd arguments, duplicates, bad values, the order in
// which they are found) and CONFIG GET of the new values, byte-identical
// over RESP2 and RESP3; a password set takes effect for new connections
// on both, and one connection authenticated before stays so.
func TestConfigSetLikeRedis(t *testing.T) {
	t.Parallel()
	server := needTool(t, "redis-server")
	for _, proto := range []string{"2", "3"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			t.Parallel()
			d := testdaemon.Start(t, testdaemon.Options{})
			pykvAddr := d.RESPAddr()
			realAddr := "127.0.0.1:" + strconv.Itoa(startRedis(t, server))
			dial := func(addr string) *respRaw {
				c := dialRESPRaw(t, addr)
				if proto == "3" {
					c.call("HELLO", "3")
				}
				return c
			}
			pykv, real := dial(pykvAddr), dial(realAddr)
			same := func(c1, c2 *respRaw, args ...string) {
				t.Helper()
				if got, want := c1.call(args...), c2.call(args...); got != want {
					t.Errorf("%q:\npykvd        %q\nredis-server %q", args, got, want)
				}
			}
			for _, cmd := range [][]string{
				{"CONFIG", "SET", "maxclients", "abc"},
				{"CONFIG", "SET", "maxclients", "1.5"},
				{"CONFIG", "SET", "maxclients", "1k"},
				{"CONFIG", "SET", "maxclients", "0x10"},
				{"CONFIG", "SET", "maxclients", "0"},
				{"CONFIG", "SET", "maxclients", "-1"},
				{"CONFIG", "SET", "maxclients", "99999999999"},
				{"CONFIG", "SET", "MaxClients", "abc"},
				{"CONFIG", "SET", "x", "1"},
				{"CONFIG", "SET", "x", "1", "y"},
				{"CONFIG", "SET", "requirepass"},
				{"CONFIG", "SET"},
				{"CONFIG", "SET", "maxclients", "1", "maxclients", "2"},
				{"CONFIG", "SET", "requirepass", "a", "MAXCLIENTS", "2", "maxclients", "3"},
				{"CONFIG", "SET", "nosuch", "1", "loglevel", "bad"},
				{"CONFIG", "SET", "loglevel", "bad", "nosuch", "1"},
				{"CONFIG", "SET", "maxclients", "1", "maxclients", "2", "nosuch", "1"},
				{"CONFIG", "SET", "maxclients", "100", "loglevel", "bad"},
				{"CONFIG", "SET", "loglevel", "verbosex"},
				{"CONFIG", "SET", "loglevel", "nothing"},
				{"CONFIG", "GET", "maxclients"}, // unchanged by the failures
				{"CONFIG", "SET", "maxclients", "500"},
				{"CONFIG", "GET", "maxclients"},
				{"CONFIG", "SET", "loglevel", "NOTICE"},
				{"CONFIG", "GET", "loglevel"},
				{"CONFIG", "SET", "loglevel", "warning", "maxclients", "400"},
				{"CONFIG", "GET", "loglevel"},
				{"CONFIG", "GET", "maxclients"},
				{"CONFIG", "SET", "loglevel", "debug"},
				{"CONFIG", "GET", "loglevel"},
				{"CONFIG", "SET", "timeout", "abc"},
				{"CONFIG", "SET", "timeout", "-1"},
				{"CONFIG", "SET", "timeout", "5s"},
				{"CONFIG", "GET", "timeout"},
				{"CONFIG", "SET", "timeout", "300"},
				{"CONFIG", "GET", "timeout"},
				{"CONFIG", "SET", "timeout", "0"},
				{"CONFIG", "SET", "min-replicas-to-write", "abc"},
				{"CONFIG", "SET", "min-replicas-to-write", "-1"},
				{"CONFIG", "SET", "min-replicas-max-lag", "10s"},
				{"CONFIG", "SET", "min-replicas-max-lag", "3000000000"},
				{"CONFIG", "GET", "min-replicas-to-write"},
				{"CONFIG", "GET", "min-replicas-max-lag"},
				{"CONFIG", "SET", "min-replicas-to-write", "1", "min-replicas-max-lag", "5"},
				{"CONFIG", "GET", "min-replicas-to-write"},
				{"CONFIG", "GET", "min-replicas-max-lag"},
				{"SET", "k", "v"}, // no follower: refused
				{"CONFIG", "SET", "min-replicas-to-write", "0"},
				{"SET", "k", "v"},
				{"CONFIG", "GET", "requirepass"},
				{"CONFIG", "SET", "requirepass", "s3cret"},
				{"CONFIG", "GET", "requirepass"},
				{"PING"}, // this connection was authenticated: it stays so
			} {
				same(pykv, real, cmd...)
			}
			// New connections need the new password: HELLO before AUTH is
			// refused, so they speak RESP2 until they have authenticated.
			fresh := [2]*respRaw{dialRESPRaw(t, pykvAddr), dialRESPRaw(t, realAddr)}
			for _, cmd := range [][]string{
				{"PING"},
				{"HELLO", proto},
				{"AUTH", "wrong"},
				{"AUTH", "s3cret"},
			} {
				same(fresh[0], fresh[1], cmd...)
			}
			if proto == "3" {
				fresh[0].call("HELLO", "3") // its reply names each server: not compared
				fresh[1].call("HELLO", "3")
			}
			same(fresh[0], fresh[1], "CONFIG", "GET", "maxclients")
			same(pykv, real, "CONFIG", "SET", "requirepass", "")
			unauthed := [2]*respRaw{dialRESPRaw(t, pykvAddr), dialRESPRaw(t, realAddr)}
			for _, cmd := range [][]string{{"PING"}, {"AUTH", "s3cret"}, {"AUTH", "default", "anything"}} {
				same(unauthed[0], unauthed[1], cmd...)
			}
			if !strings.Contains(d.Stderr(), `source="CONFIG SET" key=password`) {
				t.Errorf("pykvd's log does not say CONFIG SET changed the password:\n%s", d.Stderr())
			}
		})
	}
}
