package command

import (
	"crypto/sha256"
	"crypto/subtle"

	"github.com/pykv/pykv/internal/redisfmt"
)

// RedisVersion is the Redis version whose commands, replies and error texts
// pykv follows. It is reported where clients read a server version (HELLO's
// version, INFO's redis_version), because libraries compare it to decide
// which features to use; pykv's own version is INFO's pykv_version.
const RedisVersion = "7.0.0"

// defaultUser is the only user name AUTH and HELLO accept, as Redis's user
// that requirepass sets the password of.
const defaultUser = "default"

var pong = Status("PONG")

var errPingArity = Err("wrong number of arguments for 'ping' command")

// PING [message]: Redis declares an arity of at least 1 and refuses more
// than one argument itself.
func (t *Table) ping(_ *Session, argv [][]byte) Reply {
	switch len(argv) {
	case 1:
		return pong
	case 2:
		return Bytes(clone(argv[1]))
	}
	return errPingArity
}

// ECHO message
func (t *Table) echo(_ *Session, argv [][]byte) Reply {
	return Bytes(clone(argv[1]))
}

// QUIT: the front end sends OK, then closes the connection.
func (t *Table) quit(s *Session, _ [][]byte) Reply {
	s.Quit = true
	return OK
}

var errAuthNoPassword = Err("AUTH <password> called without any password configured " +
	"for the default user. Are you sure your configuration is correct?")

// AUTH [username] password
func (t *Table) auth(s *Session, argv [][]byte) Reply {
	if len(argv) > 3 {
		return errSyntax
	}
	user, pass := []byte(defaultUser), argv[1]
	if len(argv) == 3 {
		user, pass = argv[1], argv[2]
	} else if !t.needAuth() {
		return errAuthNoPassword
	}
	if !t.authenticate(user, pass) {
		return errWrongPass
	}
	s.Authed = true
	return OK
}

// authenticate checks a user name and password. Without a configured
// password the default user takes any password, as Redis's "nopass". The
// password is compared through its SHA-256 so that the constant-time
// compare does not reveal the configured password's length either.
func (t *Table) authenticate(user, pass []byte) bool {
	if string(user) != defaultUser {
		return false
	}
	a := t.password.Load()
	if !a.need {
		return true
	}
	sum := sha256.Sum256(pass)
	return subtle.ConstantTimeCompare(sum[:], a.hash[:]) == 1
}

// helloArgs are HELLO's parsed arguments.
type helloArgs struct {
	proto            int // 0 keeps the session's
	auth, setName    bool
	user, pass, name []byte
}

// parseHello parses HELLO's arguments as Redis 7 does: the version first,
// then AUTH and SETNAME in any order.
func parseHello(argv [][]byte) (helloArgs, Reply, bool) {
	var h helloArgs
	if len(argv) >= 2 {
		v, ok := redisfmt.ParseInt(argv[1])
		if !ok {
			return h, Err("Protocol version is not an integer or out of range"), false
		}
		if v < 2 || v > 3 {
			return h, Errorf("NOPROTO", "unsupported protocol version"), false
		}
		h.proto = int(v)
	}
	for j := 2; j < len(argv); j++ {
		more := len(argv) - 1 - j
		switch {
		case is(argv[j], "AUTH") && more >= 2:
			h.auth, h.user, h.pass = true, argv[j+1], argv[j+2]
			j += 2
		case is(argv[j], "SETNAME") && more >= 1:
			h.setName, h.name = true, argv[j+1]
			j++
		default:
			return h, Err(oneLine("Syntax error in HELLO option '" +
				string(truncate(argv[j], unknownArgsLimit)) + "'")), false
		}
	}
	return h, Reply{}, true
}

var errHelloNoAuth = Errorf("NOAUTH", "HELLO must be called with the client already authenticated, "+
	"otherwise the HELLO AUTH <user> <pass> option can be used to authenticate "+
	"the client and select the RESP protocol version at the same time")

// HELLO [protover [AUTH username password] [SETNAME clientname]]: the
// version and the name change only when the whole command succeeds; a
// good AUTH counts even when SETNAME then fails, as in Redis.
func (t *Table) hello(s *Session, argv [][]byte) Reply {
	h, rep, ok := parseHello(argv)
	if !ok {
		return rep
	}
	if h.auth {
		if !t.authenticate(h.user, h.pass) {
			return errWrongPass
		}
		s.Authed = true
	}
	if !s.Authed && t.needAuth() {
		return errHelloNoAuth
	}
	if h.setName {
		if !validName(h.name) {
			return errClientName
		}
		s.Name = string(h.name)
	}
	if h.proto != 0 {
		s.Proto = h.proto
	}
	role := "master"
	if t.info().Follower {
		role = "replica"
	}
	return mapReply(
		"server", Bytes([]byte("pykv")),
		"version", Bytes([]byte(RedisVersion)),
		"proto", Int(int64(s.proto())),
		"id", Int(int64(s.ID)),
		"mode", Bytes([]byte("standalone")),
		"role", Bytes([]byte(role)),
		"modules", Array([]Reply{}),
	)
}

// proto is the session's RESP version, 2 unless HELLO said 3.
func (s *Session) proto() int {
	if s.Proto == 0 {
		return 2
	}
	return s.Proto
}

// mapReply builds a KindMap reply from name, value, name, value... with the
// names as string replies.
func mapReply(kv ...any) Reply {
	items := make([]Reply, len(kv))
	for i, x := range kv {
		switch x := x.(type) {
		case string:
			items[i] = Bytes([]byte(x))
		case Reply:
			items[i] = x
		default:
			panic("command: mapReply takes strings and Replies")
		}
	}
	return Reply{Kind: KindMap, Array: items}
}

// SELECT index: pykv has one database, 0, so that clients configured for
// db 0 work and others learn early that they will not.
func (t *Table) selectDB(_ *Session, argv [][]byte) Reply {
	n, ok := redisfmt.ParseInt(argv[1])
	if !ok {
		return errNotInteger
	}
	if n < minCInt || n > maxCInt { // Redis 7 parses the index as a C int, and says so
		return Err("value is out of range, value must between -2147483648 and 2147483647")
	}
	if n != 0 {
		return Err("DB index is out of range")
	}
	return OK
}

// The range of a C int, in which Redis parses SELECT's index.
const (
	minCInt = -1 << 31
	maxCInt = 1<<31 - 1
)

var errClientName = Err("Client names cannot contain spaces, newlines or special characters.")

// validName reports whether b is a valid client name or library attribute
// as Redis checks them: printable ASCII without spaces.
func validName(b []byte) bool {
	for _, c := range b {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

// CLIENT ID
func (t *Table) clientID(s *Session, _ [][]byte) Reply { return Int(int64(s.ID)) }

// CLIENT GETNAME
func (t *Table) clientGetName(s *Session, _ [][]byte) Reply {
	if s.Name == "" {
		return Nil
	}
	return Bytes([]byte(s.Name))
}

// CLIENT SETNAME name: an empty name removes the name.
func (t *Table) clientSetName(s *Session, argv [][]byte) Reply {
	if !validName(argv[2]) {
		return errClientName
	}
	s.Name = string(argv[2])
	return OK
}

// CLIENT SETINFO LIB-NAME|LIB-VER value
func (t *Table) clientSetInfo(s *Session, argv [][]byte) Reply {
	attr, val := argv[2], argv[3]
	var dst *string
	switch {
	case is(attr, "LIB-NAME"):
		dst = &s.LibName
	case is(attr, "LIB-VER"):
		dst = &s.LibVer
	default:
		return Err(oneLine("Unrecognized option '" + string(truncate(attr, unknownArgsLimit)) + "'"))
	}
	if !validName(val) {
		return Err(oneLine(string(truncate(attr, unknownArgsLimit)) +
			" cannot contain spaces, newlines or special characters."))
	}
	*dst = string(val)
	return OK
}
